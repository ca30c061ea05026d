/*
 * lookup_glibc: finds one user by name in a passwd-format file with glibc's fgetpwent(3) (the
 * parser behind getpwnam's "files" backend) and prints "name uid gid home".
 *
 * The glibc side of the account-lookup comparison in REPORT.md; the other side is
 * examples/size_account_lookup.rs. Exit 0 found, 1 not found, 2 error.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	FILE *database;
	struct passwd *entry;

	if (argc != 3) {
		fprintf(stderr, "usage: lookup_glibc <passwd-file> <name>\n");
		return 2;
	}
	database = fopen(argv[1], "re");
	if (database == NULL) {
		fprintf(stderr, "lookup_glibc: cannot open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	while ((entry = fgetpwent(database)) != NULL) {
		if (strcmp(entry->pw_name, argv[2]) == 0) {
			printf("%s %lu %lu %s\n", entry->pw_name, (unsigned long)entry->pw_uid,
			       (unsigned long)entry->pw_gid, entry->pw_dir);
			return 0;
		}
	}
	return 1;
}
