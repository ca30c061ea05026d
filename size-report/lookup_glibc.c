/*
 * lookup_glibc: finds one user by name in a passwd-format file with glibc's fgetpwent(3) (the
 * parser behind getpwnam's "files" backend) and prints "name uid gid home".
 *
 * The glibc side of the account-lookup comparison in REPORT.md; the other side is
 * tests/fixtures/size_account_lookup.rs. With "-" as the file it asks getpwnam(3) instead:
 * the files backend itself on /etc/passwd, which reads without fgetpwent's two seeks per
 * entry (size-report/bench-accounts mounts the file there). Exit 0 found, 1 not found,
 * 2 error.
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
		fprintf(stderr, "usage: lookup_glibc <passwd-file>|- <name>\n");
		return 2;
	}
	if (strcmp(argv[1], "-") == 0) {
		entry = getpwnam(argv[2]);
		if (entry == NULL)
			return 1;
		printf("%s %lu %lu %s\n", entry->pw_name, (unsigned long)entry->pw_uid,
		       (unsigned long)entry->pw_gid, entry->pw_dir);
		return 0;
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
