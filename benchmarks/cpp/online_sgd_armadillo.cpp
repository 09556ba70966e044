// The same online SGD step as online_sgd_loop.cpp (iid Gaussian inputs, K = M = 2 erf, fixed
// second layers, one seed), written the way research C++ codes write it: Armadillo matrix
// expressions per step (a fresh input row from randn, the teacher's label, the gradient as
// deriv * diagmat(error) * x), float64. A baseline for jaxgem's engine in the style of the
// reference C++ codes; benchmarks/cpp_baseline.py compiles and times it when Armadillo is
// installed (Debian: libarmadillo-dev).
//
//   g++ -O3 [-march=native] -o online_sgd_armadillo online_sgd_armadillo.cpp -larmadillo
//   ./online_sgd_armadillo N STEPS    # prints: seconds_per_step checksum
#include <armadillo>
#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace arma;

static mat g(const mat& x) { return erf(x / std::sqrt(2.0)); }
static mat dgdx(const mat& x) { return std::sqrt(2.0 / datum::pi) * exp(-0.5 * square(x)); }

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s N STEPS\n", argv[0]);
        return 2;
    }
    const int N = std::atoi(argv[1]);
    const long steps = std::atol(argv[2]);
    const int K = 2, M = 2;
    const double lr = 0.2;
    arma_rng::set_seed(0);
    mat B = randn<mat>(M, N), w = 1e-3 * randn<mat>(K, N);
    vec A = ones<vec>(M), v = ones<vec>(K);

    auto start = std::chrono::steady_clock::now();
    for (long step = 0; step < steps; ++step) {
        mat x = randn<mat>(1, N);                         // one input
        mat y = g(x * B.t() / std::sqrt(N)) * A;          // the teacher's label
        mat act = w * x.t() / std::sqrt(N);               // (K, 1)
        vec error = y - g(act.t()) * v;
        mat deriv = dgdx(act);
        deriv.each_col() %= v;
        mat gradw = deriv * diagmat(error) * x;           // (K, N)
        w += lr / std::sqrt(N) * gradw;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%.9e %.9e\n", seconds / steps, accu(w));
    return 0;
}
