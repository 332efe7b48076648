/* The hot path in plain C: the same naive recursion as baseline_app.fib_recursive, on int64_t.
 *
 * Usage: fib N REPEATS
 * Prints one line of JSON: {"n": N, "result": fib(N), "loops": L, "values": [seconds per call]}
 *
 * As pyperf does for the Python rows, each of the REPEATS values is the mean of L back-to-back
 * calls, L doubled until one value takes at least MIN_VALUE_SECONDS: a single preemption then
 * moves a value by a percent or so instead of doubling it. Calibrating also warms up caches,
 * branch predictors and the CPU clock.
 *
 * The compiler must not skip or hoist the work: N comes from argv, every call reads it through a
 * volatile and stores its result into a volatile, both globals, so the opaque clock_gettime calls
 * around them keep them in place.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* fib(92) is the largest Fibonacci number a signed 64-bit integer holds. */
#define MAX_N 92
#define MAX_REPEATS 1000000
#define MIN_VALUE_SECONDS 0.01
#define MAX_LOOPS (1L << 30)

volatile int fib_input;
volatile int64_t fib_sink;

static int64_t fib(int n) {
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

static double now_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The wall time of `loops` consecutive calls, in seconds. */
static double time_calls(long loops) {
    double start = now_seconds();
    for (long i = 0; i < loops; i++) {
        fib_sink = fib(fib_input);
    }
    return now_seconds() - start;
}

static long calibrate_loops(void) {
    long loops = 1;
    while (time_calls(loops) < MIN_VALUE_SECONDS && loops < MAX_LOOPS) {
        loops *= 2;
    }
    return loops;
}

static int parse_long(const char *text, long low, long high, long *value) {
    char *end;
    errno = 0;
    *value = strtol(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' && *value >= low && *value <= high;
}

int main(int argc, char **argv) {
    long n, repeats;
    if (argc != 3 || !parse_long(argv[1], 0, MAX_N, &n) ||
        !parse_long(argv[2], 1, MAX_REPEATS, &repeats)) {
        fprintf(stderr, "usage: %s N REPEATS (0 <= N <= %d, 1 <= REPEATS <= %d)\n", argv[0],
                MAX_N, MAX_REPEATS);
        return 2;
    }
    double *values = malloc((size_t)repeats * sizeof *values);
    if (values == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    fib_input = (int)n;
    long loops = calibrate_loops();
    for (long i = 0; i < repeats; i++) {
        values[i] = time_calls(loops) / (double)loops;
    }

    printf("{\"n\": %ld, \"result\": %" PRId64 ", \"loops\": %ld, \"values\": [", n,
           (int64_t)fib_sink, loops);
    for (long i = 0; i < repeats; i++) {
        printf(i ? ", %.9e" : "%.9e", values[i]);
    }
    printf("]}\n");
    free(values);
    return 0;
}
