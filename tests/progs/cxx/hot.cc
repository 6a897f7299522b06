// hot.cc - "cxxhot SECONDS": spends its time in a member function of a class
// template in a namespace, whose symbol is mangled
// (_ZN8heedtest7SpinnerImE4spinEm); t_trace_symbols.sh wants it demangled.
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace heedtest
{
template <typename T> struct Spinner {
	__attribute__((noinline)) T spin(T n)
	{
		volatile T x = 0;

		for (T i = 0; i < n; i++)
			x = x + i * i;
		return x;
	}
};
} // namespace heedtest

int main(int argc, char **argv)
{
	heedtest::Spinner<unsigned long> s;
	struct timespec t0, t;
	unsigned long sum = 0;
	char *end = nullptr;
	double secs = argc == 2 ? std::strtod(argv[1], &end) : 0;

	if (argc != 2 || end == argv[1] || *end || secs <= 0) {
		std::fprintf(stderr, "usage: cxxhot SECONDS\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		sum += s.spin(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	std::printf("sum %lu\n", sum);
	return 0;
}
