// Online SGD of a two-layer erf network (K = M = 2, fixed second layers) on iid Gaussian inputs,
// one seed, in plain single-threaded C++ loops: the tightest form of the step, as a baseline for
// jaxgem's engine (benchmarks/cpp_baseline.py compiles and times it). The same step as
// benchmarks/online_sgd.py's NumPy loop:
//   lambda = w x / sqrt(N), nu = B x / sqrt(N), e = sum erf(nu / sqrt 2) - sum erf(lambda / sqrt 2),
//   w_k += lr / sqrt(N) * sqrt(2 / pi) exp(-lambda_k^2 / 2) e x.
// Random numbers: std::mt19937_64 and std::normal_distribution, as the C++ standard library gives
// them (the generator armadillo's randn uses in C++11 mode).
//
//   g++ -O3 [-march=native] -o online_sgd_loop online_sgd_loop.cpp
//   ./online_sgd_loop N STEPS float|double    # prints: seconds_per_step checksum
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

template <typename Real>
static void run(int N, long steps) {
    const int K = 2, M = 2;
    const Real lr = 0.2, root_n = std::sqrt(Real(N)), root2 = std::sqrt(Real(2));
    const Real gprime_scale = std::sqrt(Real(2) / Real(M_PI));
    std::mt19937_64 engine(0);
    std::normal_distribution<Real> normal(0, 1);
    std::vector<Real> w(K * N), B(M * N), x(N);
    for (auto& value : w) value = Real(1e-3) * normal(engine);
    for (auto& value : B) value = normal(engine);

    auto start = std::chrono::steady_clock::now();
    for (long step = 0; step < steps; ++step) {
        for (int i = 0; i < N; ++i) x[i] = normal(engine);
        Real lambda[K] = {0, 0}, nu[M] = {0, 0};
        for (int k = 0; k < K; ++k)
            for (int i = 0; i < N; ++i) lambda[k] += w[k * N + i] * x[i];
        for (int m = 0; m < M; ++m)
            for (int i = 0; i < N; ++i) nu[m] += B[m * N + i] * x[i];
        Real error = 0;
        for (int m = 0; m < M; ++m) error += std::erf(nu[m] / root_n / root2);
        for (int k = 0; k < K; ++k) error -= std::erf(lambda[k] / root_n / root2);
        for (int k = 0; k < K; ++k) {
            const Real l = lambda[k] / root_n;
            const Real factor = lr / root_n * gprime_scale * std::exp(-l * l / 2) * error;
            for (int i = 0; i < N; ++i) w[k * N + i] += factor * x[i];
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double checksum = 0;  // keeps the loop observable
    for (auto value : w) checksum += value;
    std::printf("%.9e %.9e\n", seconds / steps, checksum);
}

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s N STEPS float|double\n", argv[0]);
        return 2;
    }
    const int N = std::atoi(argv[1]);
    const long steps = std::atol(argv[2]);
    if (std::strcmp(argv[3], "float") == 0) {
        run<float>(N, steps);
    } else {
        run<double>(N, steps);
    }
    return 0;
}
