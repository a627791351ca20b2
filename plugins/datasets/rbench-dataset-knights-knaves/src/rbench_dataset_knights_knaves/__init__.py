"""rbench dataset plugin ``knights-knaves``: Knights and Knaves logic puzzles; correct only when every identity is right."""
