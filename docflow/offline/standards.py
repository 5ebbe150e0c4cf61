"""The offline Engineering Standards agent: EngineeringStandards drafted from the profile."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import (
    EngineeringStandards,
    LanguageStandard,
    NonFunctionalRequirement,
)
from docflow.offline.analysis import Profile, RevisionEffect
from docflow.offline.design import (
    area_ids,
    ids_of,
    measures,
    revision_notes,
    trait_quality,
    writer_of,
)
from docflow.offline.knowledge import Language
from docflow.offline.text import join_words


def draft_standards(profile: Profile, effects: Sequence[RevisionEffect]) -> EngineeringStandards:
    context = _context(profile)
    write = writer_of("standards", profile, context)
    context["sensitive_areas"] = join_words(write("sensitive_areas"))
    targets = [
        *map(NonFunctionalRequirement.model_validate, write("latency")),
        *(trait.nfr for trait in profile.traits),
        *map(NonFunctionalRequirement.model_validate, write("service_targets")),
    ]
    rules = [trait.project_rule for trait in profile.traits if trait.project_rule]
    rules += [f"Revision {e.number}: {e.feedback}" for e in effects if e.feature]
    return EngineeringStandards(
        project_name=profile.project_name,
        summary=write("summary"),
        coding_standards=[*_coding_standards(profile), write("sql_standard")],
        repository=write("repository"),
        code_review=write("code_review"),
        testing=write("testing"),
        coverage_targets=write("coverage_targets"),
        quality_gates=write("quality_gates"),
        documentation=write("documentation"),
        definition_of_done=write("definition_of_done"),
        non_functional=_serving(profile, targets),
        security=[*write("security"), *(t.security for t in profile.traits if t.security)],
        project_rules=rules or [write("no_project_rules")],
        revision_notes=revision_notes("standards", profile, effects),
    )


def _context(profile: Profile) -> dict[str, object]:
    languages = _languages(profile)
    backend = profile.backend
    return {
        "console_part": f", the web console ({profile.console.label})" if profile.console else "",
        "client_dir": "mobile/" if profile.mobile else "web/",
        "console_dir": ", console/" if profile.console else "",
        **{
            aspect: _per_language(languages, aspect)
            for aspect in ("unit_tools", "formatting", "linting", "typing")
        },
        "integration_tools": backend.integration_tools,
        "e2e_tools": profile.client.e2e_tools,
        "dependency_scan": backend.dependency_scan,
        "static_analysis": backend.static_analysis,
        "availability": "99.9%" if profile.has("payments") or profile.has("health") else "99.5%",
        "rate_scope": "organisation" if profile.has("multitenant") else "IP address",
    }


def _languages(profile: Profile) -> list[Language]:
    languages = [profile.backend.language, *profile.client.languages]
    if profile.console:
        languages += profile.console.languages
    return list({language.name: language for language in languages}.values())


def _per_language(languages: Sequence[Language], aspect: str) -> str:
    """'Python: pytest; TypeScript: Vitest' (or just the tool when there is one language)."""
    tools = [(language.name, str(getattr(language, aspect))) for language in languages]
    if len(tools) == 1:
        return tools[0][1]
    return "; ".join(f"{name}: {tool}" for name, tool in tools)


def _coding_standards(profile: Profile) -> list[LanguageStandard]:
    return [
        LanguageStandard(
            language=language.name, **language.model_dump(exclude={"name", "unit_tools"})
        )
        for language in _languages(profile)
    ]


def _serving(
    profile: Profile, targets: Sequence[NonFunctionalRequirement]
) -> list[NonFunctionalRequirement]:
    """Each target naming the requirement of about.md it makes measurable: by its area,
    or for a capability's own target, by that capability's requirement."""
    own = {trait.nfr.requirement: trait_quality(trait) for trait in profile.traits}
    return [
        target.model_copy(
            update={
                "serves": ids_of(profile, [own[target.requirement]])
                if target.requirement in own
                else area_ids(profile, [measures().get(target.area, "")])
            }
        )
        for target in targets
    ]
