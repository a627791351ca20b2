"""rbench dataset plugin ``emorynlp``: EmoryNLP: emotion of a Friends utterance in context, as 7-way multiple choice."""
