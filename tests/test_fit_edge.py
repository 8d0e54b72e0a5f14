"""The one edge test (flops_fit.fit.edge), shared by the fits and the adaptive planner."""
import numpy as np
import pytest

from flops_fit.fit.edge import edge_position, grid_step, is_interior

GRID = np.log10([1e4, 2e4, 4e4, 8e4, 1.6e5])   # 5 sizes, one grid step = log10(2)
STEP = np.log10(2)


class TestEdgePosition:
    def test_centre_is_interior(self):
        assert edge_position(GRID[2], GRID) == "interior"
        assert is_interior(GRID[2], GRID)

    def test_within_one_step_of_either_edge_is_near(self):
        assert edge_position(GRID[0] + 0.5 * STEP, GRID) == "near_low"
        assert edge_position(GRID[-1] - 0.5 * STEP, GRID) == "near_high"

    def test_one_step_in_is_interior(self):
        assert edge_position(GRID[1] + 1e-9, GRID) == "interior"

    def test_outside_the_range(self):
        assert edge_position(GRID[0] - 0.1, GRID) == "below"
        assert edge_position(GRID[-1] + 0.1, GRID) == "above"

    def test_interval_reaching_an_edge_counts(self):
        assert edge_position(GRID[2], GRID, ci=(GRID[0] - 0.01, GRID[3])) == "near_low"
        assert edge_position(GRID[2], GRID, ci=(GRID[1], GRID[-1])) == "near_high"
        assert edge_position(GRID[2], GRID, ci=(np.nan, np.nan)) == "interior"

    def test_margin_is_configurable(self):
        x = GRID[0] + 0.5 * STEP
        assert edge_position(x, GRID, margin_steps=0.25) == "interior"

    @pytest.mark.parametrize("x_star", [np.nan, np.inf])
    def test_no_vertex_is_undefined(self, x_star):
        assert edge_position(x_star, GRID) == "undefined"

    def test_grid_step_is_median_spacing_of_distinct_sizes(self):
        assert grid_step(np.r_[GRID, GRID[2]]) == pytest.approx(STEP)
        assert np.isnan(grid_step([1.0]))
