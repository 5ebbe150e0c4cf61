"""Sample ideas for the demo."""

from importlib import resources

SAMPLE_IDEA = "community-garden.md"
SAMPLE_CONSTRAINTS = (
    "Team of three volunteers working evenings; first release within four months; "
    "budget under 100 EUR a month for hosting; members' personal data stays in the EU (GDPR)."
)


def sample_idea() -> str:
    return resources.files(__package__).joinpath(SAMPLE_IDEA).read_text(encoding="utf-8")
