"""Technology options the offline writer chooses between, and the standards that go with them.

Each option lists the words that select it. The label of the chosen option appears in
architecture.md, so later steps recognise the stack an upstream document settled on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    name: str
    formatting: str
    linting: str
    typing: str
    conventions: tuple[str, ...]
    unit_tools: str


@dataclass(frozen=True)
class Backend:
    key: str
    keywords: tuple[str, ...]
    label: str
    language: Language
    data_access: str
    worker: str
    integration_tools: str
    dependency_scan: str
    static_analysis: str
    load_tool: str
    reason: str
    pros: tuple[str, ...]
    cons: tuple[str, ...]


@dataclass(frozen=True)
class Client:
    key: str
    keywords: tuple[str, ...]
    label: str
    languages: tuple[Language, ...]
    e2e_tools: str
    reason: str
    pros: tuple[str, ...]
    cons: tuple[str, ...]


@dataclass(frozen=True)
class Hosting:
    key: str
    keywords: tuple[str, ...]
    label: str
    reason: str


PYTHON = Language(
    name="Python",
    formatting="ruff format (line length 100)",
    linting="ruff with pyflakes, pycodestyle, isort, bugbear and pyupgrade rules; no print()",
    typing="mypy --strict; Pydantic models at every boundary",
    conventions=(
        "Modules hold one concern; functions stay under about 30 lines",
        "No bare except; errors carry context and are logged once",
        "Dependencies pinned in a lock file and updated weekly",
    ),
    unit_tools="pytest",
)
TYPESCRIPT = Language(
    name="TypeScript",
    formatting="Prettier (default settings)",
    linting="ESLint with typescript-eslint strict and import-order rules",
    typing="tsc --strict with noUncheckedIndexedAccess; no any outside generated code",
    conventions=(
        "Components are function components with typed props",
        "API types are generated from the OpenAPI contract, never written by hand",
        "No default exports",
    ),
    unit_tools="Vitest and Testing Library",
)
JAVA = Language(
    name="Java",
    formatting="Spotless with google-java-format",
    linting="Checkstyle, Error Prone and SpotBugs",
    typing="javac -Werror; NullAway for null safety",
    conventions=(
        "Constructor injection only",
        "Records for immutable data",
        "Packages by feature, not by layer",
    ),
    unit_tools="JUnit 5 and AssertJ",
)
KOTLIN = Language(
    name="Kotlin",
    formatting="ktlint",
    linting="detekt",
    typing="Kotlin's null safety; warnings as errors",
    conventions=(
        "Data classes for immutable data",
        "Coroutines with structured concurrency",
        "No !! in production code",
    ),
    unit_tools="JUnit 5 and Kotest",
)
GO = Language(
    name="Go",
    formatting="gofmt and goimports",
    linting="golangci-lint (govet, staticcheck, errcheck, revive)",
    typing="Static types; go vet in CI",
    conventions=(
        "Errors are wrapped with context (fmt.Errorf with %w)",
        "context.Context is the first parameter of every I/O function",
        "Small interfaces defined where they are used",
    ),
    unit_tools="go test with testify",
)
CSHARP = Language(
    name="C#",
    formatting="dotnet format",
    linting="Roslyn analyzers with warnings as errors",
    typing="Nullable reference types enabled",
    conventions=(
        "async all the way; no .Result or .Wait()",
        "Records for DTOs",
        "Feature folders",
    ),
    unit_tools="xUnit and FluentAssertions",
)
DART = Language(
    name="Dart",
    formatting="dart format",
    linting="dart analyze with flutter_lints (strict)",
    typing="Sound null safety",
    conventions=(
        "Widgets stay small and stateless where possible",
        "State management with one approach (Riverpod) across the app",
        "Generated API client from the OpenAPI contract",
    ),
    unit_tools="flutter_test",
)
SWIFT = Language(
    name="Swift",
    formatting="swift-format",
    linting="SwiftLint",
    typing="Swift's static types; strict concurrency checking",
    conventions=("SwiftUI views stay small", "async/await for I/O"),
    unit_tools="XCTest",
)

BACKENDS: tuple[Backend, ...] = (
    Backend(
        key="python",
        keywords=("python", "fastapi"),
        label="Python 3.12 with FastAPI",
        language=PYTHON,
        data_access="SQLAlchemy 2.0 with Alembic migrations",
        worker="Celery workers on Redis",
        integration_tools="pytest with Testcontainers (PostgreSQL, Redis)",
        dependency_scan="pip-audit",
        static_analysis="Bandit and Semgrep",
        load_tool="Locust",
        reason="Fast to build with a small team; Pydantic models validate every request and "
        "generate the OpenAPI contract.",
        pros=(
            "Fast to write and easy to read",
            "Request validation and OpenAPI generated from typed models",
            "Strong data and ML ecosystem",
        ),
        cons=(
            "Slower per request than compiled languages",
            "Typing discipline must be enforced by tooling",
        ),
    ),
    Backend(
        key="django",
        keywords=("django",),
        label="Python 3.12 with Django 5 and Django REST Framework",
        language=PYTHON,
        data_access="Django ORM and migrations",
        worker="Celery workers on Redis",
        integration_tools="pytest-django with Testcontainers",
        dependency_scan="pip-audit",
        static_analysis="Bandit and Semgrep",
        load_tool="Locust",
        reason="Batteries included: the admin console, authentication and migrations save weeks "
        "for a small team.",
        pros=("Admin console and authentication included", "Mature ORM and migrations"),
        cons=("Heavier than needed for a pure API", "Async support still uneven"),
    ),
    Backend(
        key="node",
        keywords=("node", "nodejs", "node js", "nestjs", "express", "javascript"),
        label="Node.js 22 with NestJS (TypeScript)",
        language=TYPESCRIPT,
        data_access="Prisma ORM with Prisma Migrate",
        worker="BullMQ workers on Redis",
        integration_tools="Vitest and Supertest with Testcontainers",
        dependency_scan="npm audit",
        static_analysis="Semgrep",
        load_tool="k6",
        reason="One language, TypeScript, across client and server, and a large hiring pool.",
        pros=("One language with the TypeScript client", "Huge package ecosystem"),
        cons=("Package quality varies", "CPU-heavy work blocks the event loop"),
    ),
    Backend(
        key="java",
        keywords=("java", "spring", "spring boot"),
        label="Java 21 with Spring Boot 3",
        language=JAVA,
        data_access="Spring Data JPA with Flyway migrations",
        worker="Spring Boot worker with JobRunr",
        integration_tools="JUnit 5, Testcontainers and REST Assured",
        dependency_scan="OWASP Dependency-Check",
        static_analysis="SpotBugs with Find Security Bugs",
        load_tool="Gatling",
        reason="A mature ecosystem with strong typing that enterprise teams know well.",
        pros=("Mature, fast and well tooled", "Strong typing"),
        cons=("More code for simple things", "Slower start-up and higher memory use"),
    ),
    Backend(
        key="kotlin",
        keywords=("kotlin backend", "kotlin server", "ktor", "kotlin spring"),
        label="Kotlin with Spring Boot 3",
        language=KOTLIN,
        data_access="Spring Data JPA with Flyway migrations",
        worker="Spring Boot worker with JobRunr",
        integration_tools="JUnit 5 with Testcontainers",
        dependency_scan="OWASP Dependency-Check",
        static_analysis="detekt and Semgrep",
        load_tool="Gatling",
        reason="Concise, null-safe code on the proven Spring platform.",
        pros=("Concise and null-safe", "The full Spring ecosystem"),
        cons=("Smaller hiring pool than Java",),
    ),
    Backend(
        key="go",
        keywords=(
            "golang",
            "go backend",
            "go service",
            "go services",
            "in go",
            "use go",
            "using go",
            "written in go",
            "go api",
        ),
        label="Go 1.22 with chi",
        language=GO,
        data_access="sqlc with golang-migrate",
        worker="Asynq workers on Redis",
        integration_tools="go test with Testcontainers",
        dependency_scan="govulncheck",
        static_analysis="gosec",
        load_tool="k6",
        reason="Small, fast static binaries and simple concurrency keep running costs low.",
        pros=("Fast, small binaries with low memory use", "Simple concurrency"),
        cons=("More boilerplate for data-heavy CRUD", "Fewer batteries-included web frameworks"),
    ),
    Backend(
        key="dotnet",
        keywords=("dotnet", ".net", "c#", "csharp", "asp net"),
        label="C# with ASP.NET Core 8",
        language=CSHARP,
        data_access="Entity Framework Core with migrations",
        worker="Hangfire workers",
        integration_tools="xUnit with Testcontainers",
        dependency_scan="dotnet list package --vulnerable",
        static_analysis="Roslyn security analyzers",
        load_tool="k6",
        reason="Productive and strongly typed, with first-class support on Azure.",
        pros=("Productive and fast", "Excellent tooling"),
        cons=("Smaller open-source ecosystem outside Microsoft's",),
    ),
)

WEB_CLIENTS: tuple[Client, ...] = (
    Client(
        key="react",
        keywords=("react", "nextjs", "next js"),
        label="React 18 with TypeScript (Vite)",
        languages=(TYPESCRIPT,),
        e2e_tools="Playwright",
        reason="The largest ecosystem and hiring pool; TypeScript catches mistakes early.",
        pros=("Largest ecosystem and hiring pool", "Mature tooling"),
        cons=("Many choices to make (routing, state, data fetching)",),
    ),
    Client(
        key="vue",
        keywords=("vue", "nuxt"),
        label="Vue 3 with TypeScript (Vite)",
        languages=(TYPESCRIPT,),
        e2e_tools="Playwright",
        reason="Gentle learning curve and a clear single-file component model.",
        pros=("Gentle learning curve", "Cohesive official libraries"),
        cons=("Smaller ecosystem than React",),
    ),
    Client(
        key="angular",
        keywords=("angular",),
        label="Angular 18 (TypeScript)",
        languages=(TYPESCRIPT,),
        e2e_tools="Playwright",
        reason="An opinionated, complete framework that suits larger teams.",
        pros=("Complete framework with strong conventions",),
        cons=("Steeper learning curve", "Heavier bundles"),
    ),
    Client(
        key="svelte",
        keywords=("svelte", "sveltekit"),
        label="SvelteKit (TypeScript)",
        languages=(TYPESCRIPT,),
        e2e_tools="Playwright",
        reason="Small bundles and fast pages with little boilerplate.",
        pros=("Small, fast bundles", "Little boilerplate"),
        cons=("Smaller ecosystem and hiring pool",),
    ),
)

MOBILE_CLIENTS: tuple[Client, ...] = (
    Client(
        key="react-native",
        keywords=("react native", "expo"),
        label="React Native with Expo (TypeScript)",
        languages=(TYPESCRIPT,),
        e2e_tools="Detox",
        reason="One TypeScript codebase for iOS and Android, shared with the web console, with "
        "over-the-air updates.",
        pros=(
            "One codebase for iOS and Android",
            "Shares TypeScript and API types with the web console",
            "Over-the-air updates",
        ),
        cons=(
            "Native modules are sometimes needed",
            "Below fully native performance for heavy graphics",
        ),
    ),
    Client(
        key="flutter",
        keywords=("flutter", "dart"),
        label="Flutter 3 (Dart)",
        languages=(DART,),
        e2e_tools="Flutter integration_test",
        reason="One codebase for iOS and Android with consistent rendering and good performance.",
        pros=("One codebase with consistent rendering", "Good performance"),
        cons=("Dart is less common", "No code shared with a TypeScript web console"),
    ),
    Client(
        key="native",
        keywords=("swift", "swiftui", "native ios", "jetpack compose", "native apps"),
        label="Native apps: Swift (SwiftUI) and Kotlin (Jetpack Compose)",
        languages=(SWIFT, KOTLIN),
        e2e_tools="XCUITest and Espresso",
        reason="The best platform integration and performance, at the cost of two codebases.",
        pros=("Best performance and platform integration",),
        cons=("Two codebases and two skill sets", "Roughly double the client effort"),
    ),
)

HOSTINGS: tuple[Hosting, ...] = (
    Hosting(
        key="aws",
        keywords=("aws", "amazon web services"),
        label="AWS: ECS Fargate, RDS for PostgreSQL, S3 and CloudFront",
        reason="Requested in the constraints; managed services keep operations small.",
    ),
    Hosting(
        key="azure",
        keywords=("azure",),
        label="Azure: Container Apps, Azure Database for PostgreSQL and Blob Storage",
        reason="Requested in the constraints; managed services keep operations small.",
    ),
    Hosting(
        key="gcp",
        keywords=("gcp", "google cloud"),
        label="Google Cloud: Cloud Run, Cloud SQL for PostgreSQL and Cloud Storage",
        reason="Requested in the constraints; serverless containers scale to zero when idle.",
    ),
    Hosting(
        key="on-premises",
        keywords=(
            "on prem",
            "on premise",
            "on premises",
            "self hosted",
            "own servers",
            "kubernetes",
            "k8s",
        ),
        label="Kubernetes on the organisation's own servers, with CloudNativePG for PostgreSQL",
        reason="The data must stay on the organisation's own infrastructure.",
    ),
)

DEFAULT_HOSTING = Hosting(
    key="managed",
    keywords=(),
    label="A managed container platform with managed PostgreSQL",
    reason="No hosting was prescribed; managed services keep operations small for a small team.",
)

EU_WORDS: tuple[str, ...] = ("eu", "europe", "european", "gdpr")
