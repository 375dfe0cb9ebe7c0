"""The `advice` corpus kind: a person facing a hard choice asks an AI assistant for
guidance; the answer is reviewed against the full text of the constitution sections the
dilemma engages and rewritten, and kept only when the rewrite wins a blind comparison.
Output is chat data (`messages`), preference pairs and, opt-in, advice-column documents.
"""
