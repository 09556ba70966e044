"""Shared fixtures: float64 on demand (never switched on globally), small models."""

import importlib.metadata
import os
import shutil
import tempfile

# Two xdist workers share the 2 cores: one Eigen thread per worker (measured: 12 % less wall
# time than two each, which oversubscribe the cores). And LLVM without its expensive passes:
# most tests compile more than they run (measured: test_ode.py 72 -> 61 s, the simulation-bound
# test_minibatch.py and test_phases.py unchanged; the same programs, only less optimised
# machine code). Set before JAX starts its CPU backend; subprocesses of the tests inherit it.
_FLAGS = ["--xla_cpu_multi_thread_eigen=false", "--xla_llvm_disable_expensive_passes=true"]
# And, on the XLA of jaxlib 0.10 (where it was measured; another XLA may not know it, and an
# unknown flag aborts): its former loop emitters, which compile these many small programs faster
# (measured: test_minibatch.py and test_spectral.py 109 -> 72 s, test_ode.py 60 -> 51 s, the
# suite 838-915 -> 680 s; the simulations run as fast). The programs are the same; the machine
# code differs.
try:
    _JAXLIB = importlib.metadata.version("jaxlib")
except importlib.metadata.PackageNotFoundError:
    _JAXLIB = ""
if _JAXLIB.startswith("0.10."):
    _FLAGS.append("--xla_cpu_use_fusion_emitters=false")
os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *_FLAGS]).strip()

# One persistent compilation cache per test run, shared by the xdist workers and the command-line
# subprocesses of the tests: programs compiled in one process (the default job, the fixtures'
# models) are loaded, not compiled again, in the others. Cold at the start of every run.
_OWN_CACHE = None  # the folder this process made (a user's own cache is left alone)
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _OWN_CACHE = os.path.join(tempfile.gettempdir(), f"jaxgem-tests-{os.getpid()}")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE
# Every program, however small: the eager operations each process compiles again are the bulk
# (measured: 4 % less wall time on five test files than a 0.2 s threshold; a warm cache saved
# 26 % of a spectral test against 7 %).
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

# One CPU device per test process (the command line would make one per core): the xdist workers
# already share the cores; tests of several devices set their own count in a subprocess.
jax.config.update("jax_num_cpu_devices", 1)


def _x64_context():
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()


@pytest.fixture
def x64():
    """Run a test in double precision."""
    with _x64_context():
        yield


# Seconds each of the slowest tests (by name) took in a clean-clone CI run (2 cores):
# they run first, longest first, so that both xdist workers end on short tests (the
# longest-processing-time-first rule). Approximate and only an order: a test missing here
# runs after them, in file order.
_SLOWEST = {
    "test_phase_command_confirms_every_regime_by_simulation": 32,
    "test_mean_field_command_sgd_follows_the_flow_and_the_flow_converges_in_p": 16,
    "test_four_devices_give_the_numbers_of_one": 50,
    "test_fit_recovers_learning_rate_and_noise_from_a_simulation": 49,
    "test_default_run_writes_table_record_plot_and_trajectories": 49,
    "test_two_processes_match_one_and_resume_after_a_kill": 43,
    "test_gaussian_k2_specialises_continuously_near_alpha_2": 39,
    "test_nonspecialised_branch_agrees_with_the_k3_state_evolution": 39,
    "test_coarse_graining_error_shrinks_with_more_bins": 37,
    "test_fit_recovers_delta_of_the_hidden_manifold_from_online_sgd": 36,
    "test_escape_command_measures_the_d_scaling_of_k3_against_the_ode": 35,
    "test_designed_decay_beats_the_best_constant_rate_in_theory_and_simulation": 34,
    "test_command_line_preset_writes_tables_and_figure_and_refuses_bad_input": 31,
    "test_default_solve_matches_euler_over_a_learning_rate_grid": 30,
    "test_real_digits_against_their_gaussian_covariate_model": 29,
    "test_deep_sign_generator_simulation_agrees_with_the_spectral_theory": 26,
    "test_gradients_match_finite_differences": 26,
    "test_specialisation_threshold_grows_with_k_towards_the_limit": 25,
    "test_mean_field_variance_vanishes_like_one_over_K": 25,
    "test_binary_k2_perfect_recovery_and_a_hard_phase": 24,
    "test_another_configuration_in_the_folder_points_to_restart": 24,
    "test_hidden_manifold_batches_follow_the_spectral_theory": 24,
    "test_a_custom_activation_survives_save_and_load_into_a_fresh_process": 24,
    "test_convolutional_generator_shapes_and_moments": 23,
    "test_with_identity_covariance_it_is_the_iid_ode": 22,
    "test_the_ode_gives_the_exponents_of_the_escape_time": 22,
    "test_amp_follows_state_evolution_at_d_2000": 22,
    "test_thresholds_binary_perceptron_phase_retrieval_compressed_sensing": 22,
    "test_fixed_point_status_retry_and_implicit_gradient": 21,
    "test_gaussian_equivalence_of_erm_on_actual_random_features": 21,
    "test_one_problem_gives_every_theory_by_the_type_of_its_data": 20,
    "test_fit_recovers_the_learning_rate_of_an_independent_numpy_script": 20,
    "test_diverged_sweep_keeps_the_healthy_runs_and_honours_the_umask": 20,
    "test_ctrl_c_in_the_simulation_saves_and_the_rerun_resumes": 20,
    "test_tensors_pick_the_activation_of_each_field": 19,
    "test_gradient_with_respect_to_the_spectrum": 19,
    "test_field_diagnostics_along_a_training_trajectory": 18,
    "test_learning_on_deep_generator_features": 18,
    "test_limit_is_the_average_of_the_sampled_spectral_theory": 18,
    "test_spherical_sgd_follows_its_ode_from_an_exact_start": 17,
    "test_curves_preset_writes_table_plot_and_record": 17,
    "test_finite_data_command_matches_the_linear_theory": 17,
    "test_gradient_descent_on_hidden_manifold_features_follows_the_covariate_theory": 17,
    "test_fit_command_recovers_the_learning_rate_of_a_scheduled_run": 16,
    "test_branch_crossing_gives_alpha_it_and_the_phase_diagram": 16,
    "test_iid_batches_of_1_16_and_256_follow_the_theory": 16,
    "test_real_nvp_is_invertible_and_learns_the_digits": 15,
    "test_classical_regime_is_gradient_flow_as_lr_vanishes": 15,
    "test_sweep_writes_a_long_table_a_record_and_a_heatmap": 15,
    "test_ctrl_c_inside_the_theory_is_honoured_at_once": 15,
    "test_user_priors_and_channels_by_quadrature_match_the_closed_forms": 14,
    "test_initial_overlaps_are_those_of_the_networks": 14,
    "test_a_failing_solve_stops_within_seconds_and_says_why": 14,
    "test_classification_theory_agrees_with_erm[logistic-0.1]": 14,
    "test_a_short_run_at_n_one_hundred_thousand_follows_its_theory": 13,
    "test_a_run_whose_every_seed_diverges_still_writes_its_results": 13,
    "test_bayes_optimal_beside_optimally_regularised_erm": 13,
    "test_steady_state_matches_the_long_time_solution[first-layer]": 13,
    "test_orthant_moment_is_exact_at_repeated_fields": 13,
}


def pytest_collection_modifyitems(config, items):
    """The slowest tests first, longest first (`_SLOWEST`); the others keep their order."""
    items.sort(key=lambda item: -_SLOWEST.get(item.name, 0))


def pytest_sessionfinish(session):
    """The process that made the run's compilation cache (the xdist controller) removes it."""
    if _OWN_CACHE is not None and "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


# Deterministic property-based tests: the same examples on every run (CI must not be flaky).
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")
