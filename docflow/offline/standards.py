"""The offline Engineering Standards agent: EngineeringStandards drafted from the profile."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from docflow.agents.contracts import (
    CoverageTarget,
    EngineeringStandards,
    LanguageStandard,
    NonFunctionalRequirement,
    QualityGate,
    RevisionNote,
    TestingLevel,
)
from docflow.offline.analysis import Profile, RevisionEffect
from docflow.offline.citing import MEASURES, area_ids, cite, ids_of, trait_quality
from docflow.offline.design import client_container, compose_change, core_component, markers
from docflow.offline.knowledge import Language
from docflow.offline.text import join_words, lower_first

SQL = LanguageStandard(
    language="SQL (migrations)",
    formatting="sqlfluff fix with the PostgreSQL dialect",
    linting="sqlfluff lint; squawk flags unsafe migrations",
    typing="Constraints in the schema (NOT NULL, CHECK, foreign keys), not only in code",
    conventions=[
        "snake_case names; plural table names",
        "Every migration has a downgrade, and CI runs upgrade and downgrade on a fresh database",
        "Destructive changes ship in two releases (expand, then contract)",
    ],
)


def draft_standards(profile: Profile, effects: Sequence[RevisionEffect]) -> EngineeringStandards:
    return EngineeringStandards(
        project_name=profile.project_name,
        summary=_summary(profile),
        coding_standards=_coding_standards(profile),
        repository=_repository(profile),
        code_review=_code_review(profile),
        testing=_testing(profile),
        coverage_targets=_coverage(profile),
        quality_gates=_quality_gates(profile),
        documentation=_documentation(),
        definition_of_done=_definition_of_done(profile),
        non_functional=_serving(profile, _non_functional(profile)),
        security=_security(profile),
        project_rules=_project_rules(profile, effects),
        revision_notes=[RevisionNote(feedback=e.feedback, change=_change(e)) for e in effects],
    )


def _summary(profile: Profile) -> str:
    console = f", the web console ({profile.console.label})" if profile.console else ""
    return (
        f"These rules apply to everyone who changes {profile.project_name}: the API "
        f"({profile.backend.label}), the {client_container(profile).lower()} "
        f"({profile.client.label}){console}, the infrastructure and these documents. CI checks "
        "them automatically wherever it can; reviewers check the rest."
    )


def _languages(profile: Profile) -> list[Language]:
    languages = [profile.backend.language, *profile.client.languages]
    if profile.console:
        languages += profile.console.languages
    return list({language.name: language for language in languages}.values())


def _per_language(languages: Sequence[Language], aspect: Callable[[Language], str]) -> str:
    """'Python: pytest; TypeScript: Vitest' (or just the tool when there is one language)."""
    tools = [(language.name, aspect(language)) for language in languages]
    if len(tools) == 1:
        return tools[0][1]
    return "; ".join(f"{name}: {tool}" for name, tool in tools)


def _coding_standards(profile: Profile) -> list[LanguageStandard]:
    standards = [
        LanguageStandard(
            language=language.name,
            formatting=language.formatting,
            linting=language.linting,
            typing=language.typing,
            conventions=list(language.conventions),
        )
        for language in _languages(profile)
    ]
    return [*standards, SQL]


def _repository(profile: Profile) -> list[str]:
    client_dir = "mobile/" if profile.mobile else "web/"
    console = ", console/" if profile.console else ""
    return [
        f"One repository: api/ ({profile.backend.language.name}), {client_dir}{console}, "
        "infra/ and docs/ (this package, ADRs included).",
        "Trunk-based development: short-lived branches from main, merged within two days.",
        "Branch names: feature/<issue>-<slug>, fix/<issue>-<slug>, chore/<slug>.",
        "Conventional Commits; releases are tagged with semantic versions.",
        "main is protected: changes land only through pull requests with green checks.",
        "Secrets are never committed; gitleaks runs in pre-commit and in CI.",
    ]


def _sensitive_areas(profile: Profile) -> list[str]:
    areas = ["authentication", "database migrations"]
    named = {
        "payments": "payments",
        "multitenant": "tenancy",
        "health": "health-data access",
        "privacy": "personal-data handling",
    }
    return areas + [label for key, label in named.items() if profile.has(key)]


def _code_review(profile: Profile) -> list[str]:
    return [
        "Every change goes through a pull request with at least one approval; changes to "
        f"{join_words(_sensitive_areas(profile))} need two.",
        "Pull requests stay under about 400 changed lines; bigger work is split.",
        "Reviewers answer within one working day.",
        "The description says what changed, why and how it was tested; UI changes include "
        "screenshots.",
        "Reviews focus on behaviour, tests, security and readability; formatting is left to the "
        "tools.",
    ]


def _testing(profile: Profile) -> list[TestingLevel]:
    backend = profile.backend
    unit_tools = _per_language(_languages(profile), lambda x: x.unit_tools)
    journeys = join_words([f"\u201c{f.name}\u201d" for f in profile.features[:3]])
    levels = [
        TestingLevel(
            level="Unit",
            scope="Domain rules and components in isolation",
            tools=unit_tools,
            when="Every push",
        ),
        TestingLevel(
            level="Integration",
            scope="API endpoints and repositories against real PostgreSQL and Redis in containers",
            tools=backend.integration_tools,
            when="Every push",
        ),
        TestingLevel(
            level="Contract",
            scope="OpenAPI diff against main; generated clients compile",
            tools="oasdiff",
            when="Every pull request",
        ),
        TestingLevel(
            level="End-to-end",
            scope=f"The main journeys: {journeys}",
            tools=profile.client.e2e_tools,
            when="Every merge to main, on staging",
        ),
        TestingLevel(
            level="Load",
            scope="Critical paths at twice the expected peak against the NFR table",
            tools=backend.load_tool,
            when="Weekly and before each release",
        ),
        TestingLevel(
            level="Smoke",
            scope="Sign-in plus one read and one write per critical feature",
            tools="Scripted checks in the deploy pipeline",
            when="After every deploy",
        ),
    ]
    if profile.has("offline"):
        levels.append(
            TestingLevel(
                level="Network resilience",
                scope="Sync on throttled and interrupted connections",
                tools="Toxiproxy",
                when="Nightly",
            )
        )
    return levels


def _coverage(profile: Profile) -> list[CoverageTarget]:
    return [
        CoverageTarget(
            scope=f"Domain logic ({core_component(profile)} and capability components)",
            minimum_percent=90,
        ),
        CoverageTarget(scope="API application, lines", minimum_percent=80),
        CoverageTarget(scope=f"{client_container(profile)}, lines", minimum_percent=70),
        CoverageTarget(scope="Lines changed in a pull request", minimum_percent=85),
    ]


def _quality_gates(profile: Profile) -> list[QualityGate]:
    languages = _languages(profile)
    backend = profile.backend
    gates = [
        QualityGate(
            name="Formatting",
            tool=_per_language(languages, lambda x: x.formatting),
            threshold="No diff",
            blocking=True,
        ),
        QualityGate(
            name="Lint",
            tool=_per_language(languages, lambda x: x.linting),
            threshold="0 errors",
            blocking=True,
        ),
        QualityGate(
            name="Types",
            tool=_per_language(languages, lambda x: x.typing),
            threshold="0 errors",
            blocking=True,
        ),
        QualityGate(
            name="Tests and coverage",
            tool="Unit and integration suites",
            threshold="All pass; coverage at or above the targets",
            blocking=True,
        ),
        QualityGate(
            name="Security scan",
            tool=f"{backend.dependency_scan}, "
            f"{backend.static_analysis}, gitleaks, Trivy for images",
            threshold="No high or critical findings",
            blocking=True,
        ),
        QualityGate(
            name="API contract diff",
            tool="oasdiff against main",
            threshold="No breaking change without a new API version",
            blocking=True,
        ),
        QualityGate(
            name="Migrations",
            tool="Upgrade and downgrade on a fresh database",
            threshold="Both succeed",
            blocking=True,
        ),
        QualityGate(
            name="Documentation readability",
            tool="textstat on docs/",
            threshold="Flesch reading ease >= 50",
            blocking=False,
        ),
    ]
    if not profile.mobile or profile.console:
        gates.append(
            QualityGate(
                name="Accessibility",
                tool="axe-core in end-to-end tests",
                threshold="No serious or critical violations",
                blocking=True,
            )
        )
    if profile.mobile:
        gates.append(
            QualityGate(
                name="App size",
                tool="Store build analysis",
                threshold="<= 30 MB download",
                blocking=False,
            )
        )
    return gates


def _documentation() -> list[str]:
    return [
        "Every public endpoint is described in the OpenAPI contract, with examples.",
        "Each significant architecture decision gets an ADR (docs/adr/ADR-NNN-<slug>.md) before "
        "the change merges.",
        "Documents aim for a Flesch reading ease of at least 50 and sentences under 25 words.",
        "Each deployable has a README: what it is, how to run it locally in under 10 minutes, how "
        "to test it.",
        "Every alert has a runbook: what it means and the first three things to check.",
        "Docs change in the same pull request as the behaviour they describe.",
    ]


def _definition_of_done(profile: Profile) -> list[str]:
    done = [
        "The acceptance criteria are met and shown on staging.",
        "The code is reviewed and approved, and every blocking quality gate is green.",
        "Unit and integration tests cover the change; the coverage targets still hold.",
        cite(
            "No new high security findings; personal data is handled as the security "
            "standards say.",
            area_ids(profile, ["Security and privacy"]),
        ),
        cite(
            "New endpoints and jobs emit traces, metrics and structured logs.",
            area_ids(profile, ["Availability"]),
        ),
        "OpenAPI, README and ADRs are updated where the change touches them.",
        cite(
            "UI changes are checked for keyboard or touch use, contrast and screen-reader labels.",
            area_ids(profile, ["Accessibility"]),
        ),
        "The pipeline deployed it to staging and the smoke tests pass.",
        "The product owner accepted the result.",
    ]
    if profile.has("offline"):
        done.insert(1, "The offline behaviour is implemented and tested.")
    return done


def _non_functional(profile: Profile) -> list[NonFunctionalRequirement]:
    critical = profile.has("payments") or profile.has("health")
    scope = "organisation" if profile.has("multitenant") else "IP address"
    nfrs = [
        NonFunctionalRequirement(
            area="Latency",
            requirement="Read endpoints (lists, details)",
            target="p95 <= 200 ms at expected peak",
            measurement="API latency histogram per route",
        ),
        NonFunctionalRequirement(
            area="Latency",
            requirement="Write endpoints",
            target="p95 <= 400 ms",
            measurement="API latency histogram per route",
        ),
        *[trait.nfr for trait in profile.traits],
        NonFunctionalRequirement(
            area="Availability",
            requirement="API and client, per month",
            target="99.9%" if critical else "99.5%",
            measurement="Uptime probe every minute",
        ),
        NonFunctionalRequirement(
            area="Rate limits",
            requirement=f"Requests per user and per {scope}",
            target=f"120 per minute per user; 1,200 per minute "
            f"per {scope}; 429 with Retry-After beyond that",
            measurement="Gateway rate-limit counters",
        ),
        _quota(profile),
        NonFunctionalRequirement(
            area="Recovery",
            requirement="Data loss and restore time",
            target="RPO <= 15 min; RTO <= 4 h",
            measurement="Quarterly restore drill",
        ),
        NonFunctionalRequirement(
            area="Accessibility",
            requirement="Conformance level",
            target="WCAG 2.2 AA",
            measurement="axe-core plus a manual screen-reader pass per release",
        ),
    ]
    return nfrs


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
                else area_ids(profile, [MEASURES.get(target.area, "")])
            }
        )
        for target in targets
    ]


def _quota(profile: Profile) -> NonFunctionalRequirement:
    if profile.has("media"):
        return NonFunctionalRequirement(
            area="Quotas",
            requirement="Stored files",
            target="10 MB per file; 2 GB per group",
            measurement="Media Service storage counters",
        )
    if profile.has("notifications"):
        return NonFunctionalRequirement(
            area="Quotas",
            requirement="Notifications per person",
            target="<= 5 per day outside the daily digest",
            measurement="Notification Service counters",
        )
    return NonFunctionalRequirement(
        area="Quotas",
        requirement="Sign-in attempts",
        target="10 per hour per account, then a cool-down",
        measurement="Identity & Access counters",
    )


def _security(profile: Profile) -> list[str]:
    lines = [
        "Authentication: OAuth2 / OpenID Connect flows; access tokens live 15 minutes, refresh "
        "tokens rotate and can be revoked.",
        "Authorisation: deny by default; every endpoint declares the roles it allows, and CI "
        "tests it.",
        "Secrets: in the platform's secret manager, rotated yearly and when people leave; never "
        "in code, logs or tickets.",
        "Input: validated at the boundary against the OpenAPI schema; parameterised queries only.",
        "Dependencies: pinned; a known-vulnerable version fails the build; updates weekly.",
        "Reviews of security-relevant changes use OWASP ASVS level 2 as the checklist.",
    ]
    if not profile.has("multitenant"):
        lines.append(
            f"Data access: {lower_first(profile.primary_users)} see only the records their role "
            "and membership allow; a denied read answers 404."
        )
    return lines + [trait.security for trait in profile.traits if trait.security]


def _project_rules(profile: Profile, effects: Sequence[RevisionEffect]) -> list[str]:
    rules = [trait.project_rule for trait in profile.traits if trait.project_rule]
    rules += [f"Revision {e.number}: {e.feedback}" for e in effects if e.feature]
    return rules or ["Keep docs/adr current whenever a recorded choice changes."]


def _change(effect: RevisionEffect) -> str:
    return compose_change(
        [
            f"added the standards, NFRs and gates that {markers(effect.added)} need"
            if effect.added
            else "",
            f"removed the rules that only applied to {markers(effect.removed)}"
            if effect.removed
            else "",
            f"updated the stack-specific standards ({join_words(list(effect.changes))})"
            if effect.changes
            else "",
            "added it as a project-specific rule" if effect.feature else "",
        ],
        effect.section,
    )
