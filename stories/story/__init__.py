"""The `story` corpus kind: fiction in which an AI character meets a hard situation and
acts well, its inner monologue showing why; judged against the constitution sections in
play and a craft rubric, reviewed and rewritten against the sections' full text.
"""
