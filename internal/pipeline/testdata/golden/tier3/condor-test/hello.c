/*
 * The HTCondor smoke test of mytier3: each job says which machine
 * ran it. run-condor-test.sh compiles it, submits it and checks the answers.
 * Written by kiln.
 */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0) {
		perror("gethostname");
		return 1;
	}
	host[sizeof host - 1] = '\0';
	printf("hello from %s, job %s\n", host, argc > 1 ? argv[1] : "?");
	return 0;
}
