"""Vocabularies and templates that give each synthetic demo query a plausible text.

Every demo dataset has sub-topics (mostly the real benchmark's own categories: MATH's subjects,
MMLU-Pro's disciplines, BBH's tasks, SWE-Bench's repositories, τ²-Bench's domains ...). A query
is written from its sub-topic's words, so texts of one sub-topic look alike and an embedding
router can find them; in the generator, each model's skill varies by sub-topic, which is what
makes the text predictive of who answers correctly. Harder queries get more constraint clauses,
so length carries a (weak) difficulty signal, as it does in real benchmarks.

The texts are synthetic: they read like the benchmark's items but are not real problems and
have no real answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DatasetText:
    """How to write queries of one demo dataset.

    ``templates`` use ``{a}``, ``{b}``, ``{c}`` (sub-topic words), ``{x}``, ``{y}`` (numbers),
    ``{name}`` (a person), ``{people}`` (a list of names whose length grows with difficulty)
    and end with ``{extra}`` (the constraint clauses). ``context_tokens`` stands for what the
    real prompt carries beyond the demo text (answer options, tables, few-shot examples, a
    repository or tool schemas), so prompt token counts stay realistic.
    """

    category: str
    templates: tuple[str, ...]
    topics: dict[str, str]
    clauses: tuple[str, ...]
    context_tokens: int = 40

    def topic_words(self, topic: str) -> list[str]:
        return self.topics[topic].split()


NAMES = (
    "Alice Ben Chloe David Emma Felix Grace Hugo Iris Jack Kara Liam Maya Noah Olga Paul "
    "Quinn Rosa Sam Tara Uma Victor Wendy Xavier Yara Zane"
).split()


_MATH_CLAUSES = (
    "Assume all quantities are positive integers.",
    "Express the answer as a common fraction.",
    "The result must hold for every admissible value of {y}.",
    "Give the remainder when the answer is divided by 1000.",
    "Justify each step and put the final answer in a box.",
    "No calculator is allowed.",
)
_CODE_CLAUSES = (
    "The input size can reach 10^{y} elements.",
    "Your solution must run in O(n log n) time.",
    "Handle empty inputs and negative values.",
    "Memory is limited to 256 MB.",
    "There are up to {x} test cases per file.",
    "Do not use any external library.",
)
_MC_CLAUSES = (
    "Exactly one option is correct.",
    "Consider the most recent consensus in the field.",
    "Several distractors describe closely related effects.",
    "Answer with the letter of the correct option.",
    "Ignore rounding in the intermediate values.",
)

DATASETS: dict[str, DatasetText] = {
    "AIME": DatasetText(
        category="math",
        templates=(
            "Let {a} and {b} satisfy a relation involving {c} with parameters {x} and {y}. Find the number of such configurations. {extra}",
            "A {a} is built from {b} so that its {c} equals {x}. Determine the least possible value modulo {y}. {extra}",
        ),
        topics={
            "algebra": "polynomial roots coefficients sequence recurrence logarithm inequality quadratic",
            "geometry": "triangle circle incircle tangent chord hexagon area perpendicular",
            "number_theory": "divisor prime residue modular gcd digits factorial congruence",
            "combinatorics": "arrangements subsets lattice paths colorings permutations tournament committee",
        },
        clauses=_MATH_CLAUSES,
        context_tokens=60,
    ),
    "MATH500": DatasetText(
        category="math",
        templates=(
            "Compute the {a} of the {b} when {c} equals {x}. {extra}",
            "If the {a} of a {b} is {x} and its {c} is {y}, what is the value asked? {extra}",
        ),
        topics={
            "algebra": "equation variable linear slope intercept expression simplify system",
            "counting_probability": "probability dice coin outcomes choose arrangement expected random",
            "geometry": "angle triangle radius circumference polygon volume cylinder similar",
            "intermediate_algebra": "polynomial complex ellipse hyperbola functional roots asymptote series",
            "number_theory": "remainder base prime divisible units digit factor multiple",
            "prealgebra": "percent ratio average fraction decimal perimeter rounding price",
            "precalculus": "matrix vector sine cosine determinant polar rotation trigonometric",
        },
        clauses=_MATH_CLAUSES,
    ),
    "MATHBench": DatasetText(
        category="multiple-choice",
        templates=(
            "Which statement about the {a} of the {b} with {c} {x} is correct? {extra}",
            "A student computes the {a} of {b} and {c} as {x}. Choose the right result. {extra}",
        ),
        topics={
            "arithmetic": "sum product difference quotient addition subtraction multiplication carry",
            "primary": "apples candies classroom pencils bus tickets coins marbles",
            "middle": "linear equation pythagorean proportion exponent coordinate graph inequality",
            "high": "function derivative logarithm sequence parabola trigonometry vector",
            "college": "integral eigenvalue matrix series convergence limit differential",
        },
        clauses=_MC_CLAUSES,
        context_tokens=80,
    ),
    "MBPP": DatasetText(
        category="code",
        templates=(
            "Write a python function to {a} the {b} of a given {c}. {extra}",
            "Write a function that takes a {c} and returns the {b} after you {a} it {x} times. {extra}",
        ),
        topics={
            "strings": "reverse substring vowels palindrome characters uppercase split concatenate",
            "lists": "sort merge flatten duplicates sublist rotate maximum elements",
            "math": "factorial fibonacci gcd prime digits sum power binomial",
            "dicts_tuples": "dictionary tuple keys values frequency pairs nested group",
            "regex": "regex pattern match email whitespace replace digits extract",
        },
        clauses=_CODE_CLAUSES,
        context_tokens=90,
    ),
    "HumanEval": DatasetText(
        category="code",
        templates=(
            "def solve({a}, {b}):\n    \"\"\"Return the {c} computed from {a} and {b}; for example solve({x}) -> {y}. {extra}\"\"\"",
            "Complete the function that checks whether the {a} of {b} forms a valid {c}. {extra}",
        ),
        topics={
            "string_ops": "string vowels prefix encode decode palindrome words characters",
            "list_ops": "numbers list sorted unique median rolling maximum below",
            "arithmetic": "integer prime factorize modulo fibonacci digits power",
            "parsing": "parentheses brackets nested groups tokens separate parse",
        },
        clauses=_CODE_CLAUSES,
        context_tokens=120,
    ),
    "LiveCodeBench": DatasetText(
        category="code",
        templates=(
            "You are given {x} {a} and a {b}. Compute the minimum {c} over all valid choices. {extra}",
            "Given an array of {y} integers, answer queries about {a} {b} using {c}. {extra}",
        ),
        topics={
            "graphs": "graph vertices edges shortest path tree bfs connected components",
            "dynamic_programming": "subsequence knapsack dp states transitions partition memo intervals",
            "greedy": "greedy intervals schedule coins exchange deadlines sorting choose",
            "strings": "string substring prefix suffix hashing palindromic characters occurrences",
            "math": "modulo combinatorics primes sieve divisors parity gcd lcm",
            "data_structures": "segment fenwick heap stack queue range updates",
        },
        clauses=_CODE_CLAUSES,
        context_tokens=350,
    ),
    "KORBench": DatasetText(
        category="logic",
        templates=(
            "Under the new rule, the {a} transforms {b} into {c}. Apply the rule to {x} and report the result. {extra}",
            "Following the stated {a} rule for {b}, what is the {c} after {y} steps? {extra}",
        ),
        topics={
            "operation": "operator symbol define compute expression custom binary evaluate",
            "logic": "premise conclusion proposition syllogism implies negation valid",
            "cipher": "cipher encrypt decrypt plaintext key shift alphabet ciphertext",
            "puzzle": "grid sudoku cells rows columns placement tiles constraints",
            "counterfactual": "fictional world story rules magic kingdom lore imagined",
        },
        clauses=(
            "The rule overrides common sense.", "Apply the rule exactly {y} times.",
            "Show the intermediate states.", "Give the answer in double brackets.",
        ),
        context_tokens=700,
    ),
    "KnightsKnaves": DatasetText(
        category="logic",
        templates=(
            "On an island every inhabitant is a knight or a knave. You meet {people}. {name} says that {a} {b}. {extra} Who is a knight and who is a knave?",
            "Knights always tell the truth and knaves always lie. The inhabitants are {people}. {name} claims {c} {a}. {extra} Identify each person.",
        ),
        topics={
            "direct": "is a knight is a knave truthful liar",
            "compound": "both and either or neither only if",
            "conditional": "if then implies whenever unless provided",
        },
        clauses=(
            "Another inhabitant says that exactly {y} of them are knights.",
            "One more statement links two of them.",
            "A third claim is made about the speaker.",
        ),
        context_tokens=80,
    ),
    "BBH": DatasetText(
        category="logic",
        templates=(
            "Task: {a}. Consider {b} and {c} with {x} items. {extra} Answer the question.",
            "{a}: given the {b}, determine the {c}. {extra}",
        ),
        topics={
            "boolean_expressions": "boolean expression true false not and or evaluate",
            "date_understanding": "date yesterday tomorrow calendar month format weekday",
            "tracking_shuffled_objects": "swap partners balls trade positions shuffled dance",
            "logical_deduction": "ordering leftmost rightmost shelf books birds positions",
            "word_sorting": "sort words alphabetically list lexicographic order",
            "navigate": "steps forward backward turn left right starting point",
            "causal_judgement": "cause intentional outcome story blame responsible action",
            "geometric_shapes": "svg path draws shape polygon lines coordinates",
        },
        clauses=("Think step by step.", "Use the format shown in the examples.", "Track every change carefully."),
        context_tokens=650,
    ),
    "MMLU-Pro": DatasetText(
        category="multiple-choice",
        templates=(
            "Which of the following best explains the {a} in {b} under {c}? {extra}",
            "In {a}, what is the effect of {b} on {c} when it increases by {x} percent? {extra}",
        ),
        topics={
            "law": "statute plaintiff defendant contract tort negligence jurisdiction court",
            "physics": "momentum velocity electric field energy quantum wave thermodynamics",
            "chemistry": "reaction molecule acid bond equilibrium oxidation titration",
            "biology": "cell gene protein enzyme mitosis evolution membrane",
            "economics": "inflation demand supply elasticity monetary fiscal unemployment",
            "psychology": "behavior cognition memory conditioning personality perception",
            "history": "empire treaty revolution dynasty colonial war century",
            "engineering": "circuit load stress beam voltage signal control",
            "business": "revenue accounting depreciation marketing profit shares",
            "philosophy": "ethics utilitarian virtue epistemology argument moral",
            "health": "patient symptoms dosage diagnosis treatment nutrition",
            "computer_science": "algorithm complexity compiler memory network database",
        },
        clauses=_MC_CLAUSES,
        context_tokens=180,
    ),
    "GPQA": DatasetText(
        category="multiple-choice",
        templates=(
            "A graduate experiment studies {a} with {b}; the measured {c} is {x}. Which interpretation is correct? {extra}",
            "Consider {a} coupled to {b}. What happens to the {c} at {y} kelvin? {extra}",
        ),
        topics={
            "quantum_mechanics": "spin eigenstate hamiltonian operator qubit entanglement",
            "astrophysics": "star luminosity redshift exoplanet galaxy orbit",
            "organic_chemistry": "synthesis nucleophile alkene carbonyl stereochemistry nmr",
            "inorganic_chemistry": "ligand complex oxidation state crystal coordination",
            "molecular_biology": "transcription plasmid rna sequencing mutation promoter",
            "genetics": "allele locus recombination inheritance phenotype dominant",
        },
        clauses=_MC_CLAUSES,
        context_tokens=160,
    ),
    "FinQA": DatasetText(
        category="math",
        templates=(
            "Based on the table of {a} and {b}, what was the percentage change in {c} from {x} to {y}? {extra}",
            "Using the reported {a} and {b}, compute the ratio of {c} for fiscal {x}. {extra}",
        ),
        topics={
            "revenue": "revenue sales segment growth quarterly net",
            "debt": "debt notes interest maturity borrowings credit",
            "equity": "shares dividends repurchase stock options equity",
            "cash_flow": "cash operating investing financing capital expenditures",
            "tax": "tax rate deferred benefit provision jurisdiction",
        },
        clauses=("Round to two decimal places.", "Amounts are in millions.", "Use the values at year end."),
        context_tokens=750,
    ),
    "MedQA": DatasetText(
        category="multiple-choice",
        templates=(
            "A {x}-year-old patient presents with {a} and {b}. Examination shows {c}. What is the most likely diagnosis? {extra}",
            "A patient with {a} is treated for {b}; after {y} days {c} develops. What is the next best step? {extra}",
        ),
        topics={
            "cardiology": "chest pain murmur arrhythmia hypertension infarction troponin",
            "infectious": "fever rash antibiotics bacteria culture sepsis",
            "neurology": "seizure headache weakness stroke reflexes numbness",
            "pharmacology": "drug overdose inhibitor adverse effect dosage interaction",
            "pediatrics": "infant vaccination growth milestones newborn jaundice",
            "endocrine": "thyroid insulin glucose cortisol diabetes hormone",
        },
        clauses=("Vital signs are within normal limits.", "Laboratory studies are pending.", "The patient takes no medications."),
        context_tokens=120,
    ),
    "EmoryNLP": DatasetText(
        category="multiple-choice",
        templates=(
            "{name}: \"{a} {b}, I can't believe {c}!\" Which emotion does the last utterance express? {extra}",
            "In this scene {name} says \"{a}... {b} {c}.\" Classify the emotion. {extra}",
        ),
        topics={
            "joyful": "awesome wonderful great party love yay",
            "mad": "annoying stupid stop furious ridiculous enough",
            "scared": "afraid scary nervous worried dark oh no",
            "sad": "miss sorry lonely cry lost gone",
            "peaceful": "calm relax fine quietly okay gentle",
            "powerful": "confident proud sure control handle strong",
        },
        clauses=("Consider the previous utterances.", "The speaker is responding to a friend."),
        context_tokens=150,
    ),
    "MELD": DatasetText(
        category="multiple-choice",
        templates=(
            "Dialogue: {name} says \"{a}, {b}! {c}.\" What emotion is expressed? {extra}",
            "Given the utterance \"{a} {b} {c}\" by {name}, pick the emotion label. {extra}",
        ),
        topics={
            "joy": "great yes happy fun laugh amazing",
            "anger": "hate shut up angry damn unbelievable",
            "surprise": "what really whoa seriously wait",
            "sadness": "sad sorry hurt tears miss",
            "fear": "scared terrified help careful panic",
            "disgust": "gross ew disgusting yuck nasty",
            "neutral": "okay sure so then maybe",
        },
        clauses=("The scene is from a sitcom.", "Consider the speaker's tone."),
        context_tokens=120,
    ),
    "LiveMathBench": DatasetText(
        category="math",
        templates=(
            "Competition problem: prove or compute the {a} of the {b} subject to {c} = {x}. {extra}",
            "Find all {a} such that the {b} of {c} is at most {y}. {extra}",
        ),
        topics={
            "olympiad_algebra": "functional equation inequality polynomial sequence bound",
            "olympiad_geometry": "cyclic quadrilateral circumcircle orthocenter tangent concurrent",
            "olympiad_combinatorics": "graph coloring pigeonhole invariant tiling game",
            "analysis": "limit integral continuous derivative convergence series",
        },
        clauses=_MATH_CLAUSES,
        context_tokens=80,
    ),
    "SWE-Bench": DatasetText(
        category="agentic",
        templates=(
            "Repository {a}: issue #{x}. Calling {b} raises an error when {c} is empty. Expected behaviour is documented. {extra} Write a patch.",
            "Bug report for {a}: {b} returns the wrong {c} after upgrading to version {y}. {extra} Fix the repository.",
        ),
        topics={
            "django": "django queryset migration admin orm model form middleware",
            "sympy": "sympy expression simplify symbol matrix solve printing",
            "astropy": "astropy units coordinates fits table wcs quantity",
            "matplotlib": "matplotlib axes figure colorbar legend backend plot",
            "scikit_learn": "scikit-learn estimator pipeline transformer fit predict sparse",
            "pytest": "pytest fixture assertion rewrite collection marker plugin",
            "sphinx": "sphinx autodoc directive docstring build extension",
        },
        clauses=("A failing test is included.", "Keep backwards compatibility.", "The traceback is attached."),
        context_tokens=3000,
    ),
    "HLE": DatasetText(
        category="judged",
        templates=(
            "Expert question: in {a}, relate {b} to {c} given the value {x}. {extra}",
            "What is the exact {a} of the {b} obtained from {c} with {y} components? {extra}",
        ),
        topics={
            "math": "category cohomology manifold group invariant lattice",
            "physics": "lagrangian symmetry gauge field renormalization scattering",
            "computer_science": "complexity automaton reduction undecidable circuit",
            "biology_medicine": "pathway receptor protein phylogeny clinical enzyme",
            "humanities": "manuscript dialect poetry archaeology linguistics epigraphy",
            "chemistry": "spectroscopy synthesis mechanism catalyst orbital",
        },
        clauses=("Give a single exact answer.", "State your confidence.", "The answer is short."),
        context_tokens=120,
    ),
    "SimpleQA": DatasetText(
        category="judged",
        templates=(
            "Who was the {a} that {b} the {c} in {x}? {extra}",
            "In what year did the {a} receive the {b} for {c}? {extra}",
        ),
        topics={
            "science_tech": "scientist invention patent laboratory discovered award",
            "politics": "minister election party parliament mayor appointed",
            "art": "painter museum exhibition sculpture gallery portrait",
            "geography": "river village district mountain population founded",
            "sports": "player club championship goal season coach",
            "music": "album singer band released chart composer",
            "tv_shows": "episode series actor season premiered character",
        },
        clauses=("Answer with a name or a number.", "Only the first occurrence counts."),
        context_tokens=30,
    ),
    "ArenaHard": DatasetText(
        category="judged",
        templates=(
            "I need help with a task involving {a}, {b} and {c}. {extra}",
            "Please produce a detailed answer ({x} words at most) covering {a}, {b} and {c}. {extra}",
        ),
        topics={
            "coding": "implement debug refactor script api function class",
            "creative_writing": "write story poem character dialogue narrative scene",
            "math_reasoning": "prove derive probability estimate calculate formula",
            "business_advice": "plan strategy market startup pitch pricing",
            "data_analysis": "dataset sql query dashboard pandas chart",
        },
        clauses=("Be concise but complete.", "Explain your reasoning.", "Use bullet points where useful."),
        context_tokens=60,
    ),
    "Tau2-Bench": DatasetText(
        category="agentic",
        templates=(
            "Customer ({name}): I have a problem with my {a} and the {b}, and a question about the {c}. Reference {x}. {extra}",
            "User {name} contacts support about a {a} issue involving the {b} and the {c}. {extra}",
        ),
        topics={
            "airline": "flight reservation cancel baggage seat upgrade refund",
            "retail": "order return exchange item shipping address payment",
            "telecom": "plan roaming data line bill sim network",
        },
        clauses=("The policy forbids some changes.", "Verify the user's identity first.", "Several tool calls are needed."),
        context_tokens=2500,
    ),
}


def write_text(
    spec: DatasetText, topic: str, difficulty: float, rng: np.random.Generator
) -> str:
    """One query text of ``topic``; ``difficulty`` (standard normal) sets its length."""
    words = spec.topic_words(topic)
    pick = rng.choice(len(words), size=3, replace=len(words) < 3)
    a, b, c = (words[int(i)] for i in pick)
    n_clauses = int(np.clip(np.round(1.0 + 0.9 * difficulty + rng.normal(0, 0.6)), 0, 4))
    n_people = int(np.clip(np.round(4.5 + 1.6 * difficulty + rng.normal(0, 0.5)), 2, 8))
    x, y = int(rng.integers(2, 2000)), int(rng.integers(2, 100))
    order = rng.permutation(len(spec.clauses))[:n_clauses]
    fmt = {"x": x, "y": y}
    extra = " ".join(spec.clauses[int(i)].format(**fmt) for i in order)
    people = [NAMES[int(i)] for i in rng.permutation(len(NAMES))[:n_people]]
    template = spec.templates[int(rng.integers(len(spec.templates)))]
    if not extra:
        template = template.replace(" {extra}", "").replace("{extra}", "")
    text = template.format(
        a=a, b=b, c=c, x=x, y=y, name=people[0], people=", ".join(people), extra=extra
    )
    return text.strip()
