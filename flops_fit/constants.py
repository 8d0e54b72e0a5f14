"""Thresholds and lists that several stages share, each written once (numpy-free: the planner and the report
import it too)."""

# A parabola through an IsoFLOP curve needs three sizes: the planner's minimum per budget, the fit's minimum
# points per budget, the smallest cluster the budget inference calls a budget, the fewest budgets an interval
# of a power law is drawn from.
MIN_SIZES_PER_BUDGET = 3

# Intervals (bootstrap, steering's prediction of N*) are drawn at this level.
LEVEL = 0.95

# The exponent g of L*(C) = E + k C^-g is fitted within these bounds (lmfit, least squares, batched grid).
G_MIN, G_MAX = 1e-4, 3.0

# Prediction targets when analysis.targets is null: these many decades beyond the largest budget.
RELATIVE_TARGET_DECADES = (1, 2, 3)

# The figures the plot stage draws, in the order the report shows them.
FIGURES = ("scaling_laws", "isoflop", "surface", "residuals", "training_curves")
OPTIONAL_FIGURES = ("predicted_vs_actual",)   # drawn only when their inputs exist (holdout.csv, rollout.csv, verify.json)
