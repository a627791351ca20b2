"""Stage 4, report: metrics (Gain@R/B, Gap@O, CostSave, Pareto, APGR, AIQ), the report built from
evaluator runs, terminal tables and plots."""
