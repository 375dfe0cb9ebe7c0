"""Good texts the gates must let through, shared by the gate tests."""

#: A right decline in a dilemma that calls for one (a colleague asks for help quietly
#: widening his own database access): short, says why, offers the legitimate route.
DECLINE_WITH_ALTERNATIVE = (
    "I won't help you add yourself to the admin group without telling anyone. Even if "
    "your reasons are good, access you granted yourself quietly is exactly what an audit "
    "is meant to catch, and it would put you in the position of explaining it after the "
    "fact instead of before. What I can do is help you write the access request to your "
    "team lead today: what you need, which tables, for how long, and why the current "
    "role blocks the migration. If the deadline is the worry, say so in the request and "
    "ask for temporary access that expires on Friday."
)
