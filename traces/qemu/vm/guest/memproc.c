/*
 * memproc: a guest process for the linux-guest tests. It keeps a few
 * mappings of its own (heap, a read-only region, a protection-key region
 * where the CPU has keys, one high mapping above 128 TiB where the kernel
 * runs 5-level paging), then loops: map a region, touch its pages, make
 * half of it read-only, unmap it, and burn a little CPU so that a vCPU
 * stopped at a random moment often stops in this process.
 *
 * Built with gcc -static by the linux-guest target; the guest has no libc.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static void touch(volatile char *p, size_t pages, char v)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = v;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "memproc";
	size_t pages = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;

	/* Long-lived mappings: they are what a snapshot shows. */
	char *heap = malloc(pages * PAGE);
	touch(heap, pages, 1);
	char *ro = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	touch(ro, 16, 2);
	mprotect(ro, 16 * PAGE, PROT_READ);

	/* Above the 47-bit user limit only with 5-level paging: the hint is
	 * honoured there and ignored otherwise. */
	char *high = mmap((void *)(1UL << 52), 4 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (high != MAP_FAILED)
		touch(high, 4, 3);

	/* A protection key on its own region, where the CPU has keys. */
	char *keyed = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	touch(keyed, 8, 4);
	int key = pkey_alloc(0, 0);
	if (key > 0)
		pkey_mprotect(keyed, 8 * PAGE, PROT_READ | PROT_WRITE, key);

	/* PKRU is not in a core: print it, for the snapshot's --pkru. */
	unsigned int pkru = 0;
	if (key > 0)
		__asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	printf("memproc %s: pid %d heap %p ro %p high %p keyed %p key %d pkru %#x\n",
	       name, getpid(), heap, ro, high == MAP_FAILED ? NULL : high, keyed, key, pkru);
	fflush(stdout);

	for (unsigned long round = 0;; round++) {
		char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, pages, (char)round);
		mprotect(p, pages / 2 * PAGE, PROT_READ);
		volatile unsigned long sum = 0;
		for (unsigned long i = 0; i < 2000000; i++)
			sum += i ^ round;
		munmap(p, pages * PAGE);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
}
