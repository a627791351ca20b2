"""Published figures the demo benchmark is calibrated to.

Source: Hao Li et al., "LLMRouterBench: A Massive Benchmark and Unified Framework for LLM
Routing", arXiv:2601.07206 (2026): Table 6 (accuracy, %, of 20 small models on the 15
performance-setting datasets), Table 9 (accuracy, %, of 13 flagship models on the 10
performance–cost datasets; GPT-5-Chat has no Tau2-Bench score), Table 10 (total inference
spend, USD, per model and dataset), Tables 7 and 8 (router results: only the Oracle rows are
used here, as calibration targets for how often *some* model is right).

The numbers are embedded (not read from disk) so the demo runs from a fresh clone; a test checks
them against the transcription in ``../shared/paper`` when that folder exists.

Dataset sizes are those of the paper's catalogue. Model prices are NOT from the paper: they are
assumed public list prices (USD per million tokens, late 2025), used only to split each
calibrated per-query cost into plausible prompt/completion token counts.
"""

from __future__ import annotations

CITATION = (
    "Li et al., LLMRouterBench: A Massive Benchmark and Unified Framework for LLM Routing, "
    "arXiv:2601.07206 (Tables 6, 7, 8, 9, 10)"
)

TABLE6_COLUMNS: tuple[str, ...] = (
    "AIME", "MATH500", "MATHBench", "MBPP", "HumanEval", "LiveCodeBench", "KORBench",
    "KnightsKnaves", "BBH", "MMLU-Pro", "GPQA", "FinQA", "MedQA", "EmoryNLP", "MELD",
)
#: Table 6: accuracy (%) per small model on the performance-setting datasets.
TABLE6: dict[str, tuple[float, ...]] = {
    "DH-Llama3-it": (0.00, 29.80, 38.67, 54.00, 51.22, 13.08, 31.92, 15.57, 49.07, 36.66, 27.78, 49.96, 57.58, 38.16, 47.16),
    "DS-Qwen3": (68.33, 94.20, 90.00, 35.01, 25.00, 64.74, 56.00, 60.86, 89.44, 70.83, 60.61, 70.36, 81.62, 38.74, 51.06),
    "DS-Qwen": (40.00, 88.40, 88.00, 53.59, 45.12, 41.14, 45.36, 50.86, 69.17, 47.75, 35.86, 63.30, 34.80, 27.55, 34.90),
    "Fin-R1": (11.67, 75.40, 66.67, 68.99, 77.44, 6.82, 33.20, 19.00, 61.57, 48.65, 27.27, 68.70, 63.24, 34.72, 50.41),
    "GLM-Z1": (61.67, 94.60, 95.33, 62.94, 60.37, 61.52, 53.84, 47.57, 84.26, 67.33, 56.06, 68.70, 71.01, 35.01, 45.86),
    "Intern-S1-mini": (76.67, 91.40, 64.67, 44.05, 43.29, 26.26, 58.16, 79.43, 83.06, 56.04, 48.99, 70.36, 68.42, 36.87, 50.41),
    "Llama-3.1-it": (8.33, 49.80, 46.67, 60.68, 61.59, 16.78, 24.16, 13.71, 58.70, 46.65, 26.26, 52.92, 68.26, 33.72, 48.05),
    "UltraMedical": (0.00, 42.40, 25.33, 53.90, 56.10, 13.36, 14.32, 15.43, 38.06, 40.26, 23.23, 54.58, 68.50, 31.71, 42.21),
    "Llama-Nemo": (45.00, 90.80, 50.00, 61.50, 62.80, 46.07, 29.52, 22.86, 26.20, 41.46, 33.84, 31.12, 41.48, 29.41, 38.80),
    "MiMo-RL": (0.00, 26.60, 11.33, 56.78, 52.44, 6.45, 29.84, 4.00, 29.91, 20.78, 4.04, 17.00, 29.38, 28.12, 39.69),
    "MiniCPM": (68.33, 93.40, 95.33, 34.09, 32.93, 63.70, 30.96, 62.71, 88.06, 69.93, 52.02, 67.22, 65.36, 35.72, 51.30),
    "NVIDIA-Nemo": (70.00, 93.60, 94.67, 42.09, 48.17, 65.50, 56.80, 70.71, 86.48, 70.13, 52.02, 71.23, 74.71, 39.02, 46.75),
    "OpenThinker": (41.67, 85.60, 62.67, 11.81, 7.32, 44.17, 11.04, 17.29, 42.50, 42.06, 31.82, 61.55, 52.08, 22.81, 33.44),
    "Qwen-Coder": (1.67, 65.20, 67.33, 75.98, 77.44, 27.87, 34.24, 20.43, 57.04, 45.35, 32.32, 63.21, 48.78, 37.02, 52.60),
    "Qwen3-8B": (76.67, 93.60, 95.33, 54.72, 62.20, 67.68, 53.92, 77.00, 83.98, 69.13, 57.58, 74.46, 79.18, 38.74, 54.22),
    "Cogito-v1": (1.67, 51.20, 56.00, 51.95, 69.51, 17.25, 42.96, 24.14, 69.44, 57.04, 35.35, 61.64, 65.75, 37.45, 54.95),
    "Gemma-2-it": (1.67, 48.20, 54.67, 62.42, 64.63, 17.25, 34.64, 9.71, 60.74, 52.95, 27.78, 64.60, 63.79, 39.74, 52.60),
    "Glm-4-chat": (1.67, 49.80, 49.33, 62.83, 74.39, 16.87, 37.28, 12.43, 46.94, 47.05, 23.23, 57.28, 62.14, 39.02, 55.28),
    "Granite-3.3-it": (6.67, 69.00, 59.33, 36.55, 51.22, 14.22, 32.00, 21.71, 31.39, 44.66, 31.82, 62.34, 61.19, 36.59, 50.32),
    "Internlm3-it": (6.67, 69.00, 60.00, 60.47, 65.85, 21.23, 33.84, 25.86, 61.94, 55.14, 33.84, 61.99, 67.24, 36.87, 50.97),
}

TABLE9_COLUMNS: tuple[str, ...] = (
    "AIME", "LiveMathBench", "LiveCodeBench", "SWE-Bench", "GPQA", "HLE", "MMLU-Pro",
    "SimpleQA", "ArenaHard", "Tau2-Bench",
)
#: Table 9: accuracy (%) per flagship model on the performance–cost datasets (None = not run).
TABLE9: dict[str, tuple[float | None, ...]] = {
    "Claude-v4": (36.67, 61.16, 58.10, 34.60, 68.69, 4.82, 83.17, 15.14, 54.67, 49.28),
    "DeepSeek-R1": (85.00, 77.69, 80.09, 28.60, 79.80, 15.99, 84.23, 27.12, 63.53, 37.77),
    "DeepSeek-V3": (43.33, 61.98, 66.64, 25.00, 59.60, 3.61, 78.00, 27.76, 60.13, 7.19),
    "DS-V3.1-Tms": (55.00, 73.55, 67.30, 25.40, 76.26, 8.94, 84.03, 24.46, 66.27, 46.76),
    "Gemini-Flash": (63.33, 73.55, 60.00, 18.20, 66.16, 7.78, 80.93, 29.82, 55.53, 32.37),
    "Gemini-Pro": (85.00, 50.41, 79.15, 34.60, 84.85, 21.69, 85.67, 53.77, 77.00, 43.17),
    "GLM-4.6": (81.67, 63.64, 63.13, 21.80, 75.25, 15.52, 80.33, 25.68, 66.40, 53.96),
    "GPT-5": (88.33, 79.34, 86.45, 15.80, 84.85, 26.32, 87.37, 47.90, 69.73, 70.14),
    "GPT-5-Chat": (71.67, 57.85, 62.18, 8.80, 73.74, 5.70, 81.40, 40.50, 68.87, None),
    "Intern-S1": (48.33, 68.60, 49.19, 7.80, 65.66, 8.85, 81.97, 14.77, 67.07, 32.73),
    "Kimi-K2": (65.00, 71.90, 67.30, 23.40, 73.23, 6.12, 80.30, 29.03, 71.07, 48.92),
    "Qwen3-235B": (76.67, 76.03, 64.17, 16.20, 58.59, 9.22, 82.77, 53.77, 73.07, 40.29),
    "Qwen3-Thinking": (86.67, 52.89, 78.39, 21.40, 80.30, 7.78, 79.47, 48.27, 73.93, 53.60),
}

#: Table 10: total inference spend (USD) per flagship model and dataset; the last column is
#: the paper's Total (None = not run).
TABLE10_COLUMNS: tuple[str, ...] = (*TABLE9_COLUMNS, "Total")
TABLE10: dict[str, tuple[float | None, ...]] = {
    "Claude-v4": (1.26, 1.91, 14.20, 35.72, 2.65, 23.71, 23.40, 7.33, 15.94, 103.72, 229.83),
    "DeepSeek-R1": (2.09, 2.70, 30.46, 10.03, 3.25, 72.03, 24.62, 6.19, 8.52, 37.08, 196.97),
    "DeepSeek-V3": (0.15, 0.17, 1.53, 2.31, 0.18, 1.93, 1.76, 0.48, 0.80, 6.92, 16.22),
    "DS-V3.1-Tms": (0.17, 0.19, 1.19, 2.30, 0.25, 4.35, 1.67, 0.80, 1.08, 17.38, 29.39),
    "Gemini-Flash": (2.25, 1.90, 6.16, 3.94, 2.65, 71.07, 10.96, 0.63, 5.49, 5.80, 110.86),
    "Gemini-Pro": (9.18, 10.96, 142.59, 80.32, 16.59, 277.72, 117.18, 41.12, 34.63, 38.25, 768.53),
    "GLM-4.6": (2.79, 4.02, 2.32, 5.10, 5.35, 100.59, 30.60, 26.54, 2.51, 27.61, 207.41),
    "GPT-5": (4.57, 4.09, 54.92, 24.27, 7.94, 137.59, 36.17, 57.25, 27.85, 61.67, 416.31),
    "GPT-5-Chat": (0.08, 1.57, 4.02, 11.52, 1.85, 18.41, 13.44, 2.37, 6.97, None, 60.22),
    "Intern-S1": (0.46, 0.50, 7.10, 2.86, 0.81, 11.09, 5.59, 3.78, 1.99, 13.28, 47.45),
    "Kimi-K2": (0.57, 0.60, 3.88, 4.79, 0.63, 2.35, 3.86, 0.46, 1.70, 27.90, 46.75),
    "Qwen3-235B": (0.31, 0.23, 1.04, 1.36, 0.07, 4.51, 1.80, 0.20, 0.74, 11.67, 21.94),
    "Qwen3-Thinking": (1.13, 1.04, 14.74, 8.88, 2.42, 17.61, 25.64, 12.04, 8.02, 28.44, 119.95),
}

#: Oracle rows of Tables 7 and 8: the performance-setting Oracle AvgAcc (%), and the
#: performance–cost Oracle PerfGain over GPT-5 (a ratio).
PERF_ORACLE_ACC = 91.64
PERFCOST_ORACLE_PERF_GAIN = 0.299
PERFCOST_REFERENCE_MODEL = "GPT-5"

#: Dataset sizes of the paper's catalogue (the performance–cost setting uses 3000 MMLU-Pro items).
PERF_SIZES: dict[str, int] = {
    "AIME": 60, "MATH500": 500, "MATHBench": 150, "MBPP": 974, "HumanEval": 164,
    "LiveCodeBench": 1055, "KORBench": 1250, "KnightsKnaves": 700, "BBH": 1080,
    "MMLU-Pro": 1000, "GPQA": 198, "FinQA": 1147, "MedQA": 1273, "EmoryNLP": 697, "MELD": 1232,
}
PERFCOST_SIZES: dict[str, int] = {
    "AIME": 60, "LiveMathBench": 121, "LiveCodeBench": 1055, "SWE-Bench": 500, "GPQA": 198,
    "HLE": 2158, "MMLU-Pro": 3000, "SimpleQA": 4326, "ArenaHard": 750, "Tau2-Bench": 278,
}

#: Assumed list prices (USD per million input, output tokens) — not from the paper.
PERFCOST_PRICES: dict[str, tuple[float, float]] = {
    "Claude-v4": (3.00, 15.00),
    "DeepSeek-R1": (0.55, 2.19),
    "DeepSeek-V3": (0.27, 1.10),
    "DS-V3.1-Tms": (0.56, 1.68),
    "Gemini-Flash": (0.30, 2.50),
    "Gemini-Pro": (1.25, 10.00),
    "GLM-4.6": (0.60, 2.20),
    "GPT-5": (1.25, 10.00),
    "GPT-5-Chat": (1.25, 10.00),
    "Intern-S1": (0.28, 1.10),
    "Kimi-K2": (0.60, 2.50),
    "Qwen3-235B": (0.20, 0.60),
    "Qwen3-Thinking": (0.20, 2.40),
}

#: Small models that think at length before answering (more completion tokens in the demo).
PERF_REASONING_MODELS: frozenset[str] = frozenset({
    "DS-Qwen3", "DS-Qwen", "Fin-R1", "GLM-Z1", "Intern-S1-mini", "Llama-Nemo", "MiMo-RL",
    "MiniCPM", "NVIDIA-Nemo", "OpenThinker", "Qwen3-8B", "Cogito-v1",
})
