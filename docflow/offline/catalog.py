"""Domain traits the offline writer recognises in an idea, and what each one implies.

A trait is a capability such as payments, offline use or scheduling. When the idea,
the constraints or the feedback mention one of its keywords (and do not negate it), the
trait adds its feature, component, technology, decision, risks, NFRs and epic to the
package. Each trait's feature name doubles as its marker: later steps read which traits
an upstream document kept by looking for these names, so they must stay distinctive and
must not appear in any other trait's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from docflow.agents.contracts import (
    Actor,
    Component,
    Container,
    DecisionOption,
    Entity,
    Feature,
    KeyDecision,
    NonFunctionalRequirement,
    Risk,
    SuccessMetric,
    TechnologyChoice,
)
from docflow.offline.text import phrases


@dataclass(frozen=True)
class EpicSpec:
    name: str
    goal: str
    tasks: tuple[str, ...]
    acceptance: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    effort_days: int


@dataclass(frozen=True, eq=False)  # traits are singletons: identity is equality
class Trait:
    key: str
    keywords: tuple[str, ...]
    feature: Feature
    goal: str
    pain: str
    need: str
    non_goal: str
    question: str
    metric: SuccessMetric
    risk: Risk
    nfr: NonFunctionalRequirement
    component: Component | None = None
    container: Container | None = None
    external: Actor | None = None
    technology: TechnologyChoice | None = None
    entities: tuple[Entity, ...] = ()
    decision: KeyDecision | None = None
    epic: EpicSpec | None = None
    security: str = ""
    resilience: str = ""
    needs_worker: bool = False

    @property
    def marker(self) -> str:
        return self.feature.name


def _decision(
    title: str,
    context: str,
    options: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...],
    decision: str,
    consequences: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]],
) -> KeyDecision:
    positive, negative, risks, monitoring = consequences
    return KeyDecision(
        title=title,
        status="Proposed",
        context=context,
        options=[DecisionOption(name=n, pros=list(p), cons=list(c)) for n, p, c in options],
        decision=decision,
        positive_consequences=list(positive),
        negative_consequences=list(negative),
        risks=list(risks),
        monitoring=list(monitoring),
    )


MOBILE = Trait(
    key="mobile",
    keywords=phrases(
        "mobile, phone, phones, smartphone, smartphones, ios, android, react native, flutter, app "
        "store, tablet, tablets"
    ),
    feature=Feature(
        name="Mobile app",
        description="An app for iOS and Android, so the everyday tasks fit in a few taps on a "
        "phone.",
        priority="must",
    ),
    goal="Make every everyday task comfortable on a phone, one-handed and on the move.",
    pain="people are rarely at a desk when they need it, so tools that are awkward on a "
    "phone get ignored",
    need="Do the common tasks from a phone in under a minute",
    non_goal="Native phone apps in the first release: the web app is responsive and works in "
    "mobile browsers.",
    question="Must both iOS and Android ship at launch, and which oldest OS versions must be "
    "supported?",
    metric=SuccessMetric(
        name="Crash-free sessions",
        target=">= 99.5% per release",
        measurement="Crash reporting in the app (for example Sentry)",
    ),
    risk=Risk(
        description="App store review delays a release by several days.",
        likelihood="medium",
        impact="medium",
        mitigation="Ship early builds through TestFlight and internal testing tracks; keep a "
        "one-week buffer before launch.",
    ),
    nfr=NonFunctionalRequirement(
        area="Mobile",
        requirement="App cold start on a mid-range phone",
        target="<= 2 s",
        measurement="Release build profiled on a three-year-old Android device",
    ),
    security="Tokens on devices live in the platform keystore (Keychain, Android Keystore), "
    "never in plain storage.",
)

OFFLINE = Trait(
    key="offline",
    keywords=phrases(
        "offline, no connectivity, poor connectivity, low connectivity, without internet, no "
        "internet, no signal, poor signal, signal is poor, patchy, intermittent, rural, low "
        "bandwidth"
    ),
    feature=Feature(
        name="Offline mode",
        description="The app keeps working without a connection and syncs the changes when the "
        "signal returns.",
        priority="must",
    ),
    goal="Keep people productive where the connection is poor, without losing a single change.",
    pain="the connection is patchy where the work happens, so online-only tools fail exactly "
    "when they are needed",
    need="Keep working when the signal drops and trust that nothing is lost",
    non_goal="Working without a connection: most actions need the network.",
    question="Which actions must work without a connection, and which may wait for one?",
    metric=SuccessMetric(
        name="Changes lost during sync",
        target="0; fewer than 1% of conflicts need a person to resolve them",
        measurement="Sync Service conflict log",
    ),
    risk=Risk(
        description="Two people edit the same record while disconnected and one edit silently "
        "overwrites the other.",
        likelihood="medium",
        impact="high",
        mitigation="Version every record, log every conflict and show the ones that need a "
        "person to decide.",
    ),
    nfr=NonFunctionalRequirement(
        area="Sync",
        requirement="Upload and apply 500 queued changes after reconnecting",
        target="<= 10 s on a 3G connection",
        measurement="Sync integration test on a throttled network",
    ),
    component=Component(
        name="Sync Service",
        technology="versioned change log",
        responsibility="Accepts batches of changes made offline, detects conflicts and returns "
        "what the device missed since its last sync.",
    ),
    technology=TechnologyChoice(
        layer="Device storage",
        technology="SQLite on the device as a local-first store",
        reason="Holds the data needed offline and queues changes until the next sync.",
    ),
    entities=(
        Entity(
            name="Change",
            description="An edit made on a device, queued and applied on sync.",
            attributes=["id", "device_id", "record_type", "record_id", "version", "applied_at"],
        ),
    ),
    decision=_decision(
        "Offline-first clients with versioned sync",
        "People use the product where the signal is weak. Online-only screens would fail "
        "exactly where the work happens, and edits made offline must not be lost.",
        (
            (
                "Online only, with retries",
                ("Simplest to build", "No conflicts"),
                ("Unusable without a signal", "Frustrating in the field"),
            ),
            (
                "Versioned records, last writer wins, conflict log",
                ("Works offline", "Simple to reason about", "Every conflict is visible"),
                ("Some conflicts need a person to decide",),
            ),
            (
                "CRDT-based replication",
                ("Merges automatically",),
                ("Complex to build and debug", "Few mature libraries for this stack"),
            ),
        ),
        "Clients keep a local store and a queue of changes. Every record carries a version; "
        "the Sync Service applies changes in order, keeps the newest version and logs each "
        "conflict so a coordinator can review it.",
        (
            ("The app works without a signal", "No silent data loss"),
            ("Every feature must define its offline behaviour", "Sync adds testing effort"),
            ("Clock skew on devices; long-offline devices with stale data",),
            ("Conflict rate per week", "Age of the oldest unsynced change"),
        ),
    ),
    epic=EpicSpec(
        name="Offline Sync",
        goal="Let the app work without a connection and reconcile changes safely afterwards.",
        tasks=(
            "Add a version column and change log to every synchronised table",
            "Implement the local store and change queue in the client",
            "Build the sync endpoint: push changes, pull missed changes from a cursor",
            "Record conflicts and show them to coordinators",
            "Test on a throttled and interrupted network",
        ),
        acceptance=(
            "Changes made in airplane mode appear on the server within 10 s of reconnecting",
            "Two conflicting offline edits produce one kept version and one logged conflict",
            "Killing the app mid-sync loses no queued change",
        ),
        out_of_scope=("Automatic merging of conflicting text edits",),
        effort_days=12,
    ),
    resilience="Clients retry sync with exponential backoff and resume from the last "
    "acknowledged cursor, so an interrupted sync never applies a change twice.",
)

PAYMENTS = Trait(
    key="payments",
    keywords=phrases(
        "payment, payments, pay, paid, checkout, billing, subscription, subscriptions, invoice, "
        "invoices, invoicing, donation, donations, fee, fees, stripe, credit card, refund, "
        "refunds, purchase, purchases"
    ),
    feature=Feature(
        name="Online payments",
        description="Pay fees, deposits or orders in the app through a hosted checkout, with an "
        "emailed receipt.",
        priority="should",
    ),
    goal="Collect money without manual handling, and reconcile every payment automatically.",
    pain="money is collected by hand, which is slow, error-prone and hard to reconcile",
    need="Pay safely in a few taps and get a receipt",
    non_goal="Handling money inside the product; any fees are settled outside it.",
    question="Which payment methods and currencies are needed, and who pays the processing fees?",
    metric=SuccessMetric(
        name="Payment success rate",
        target=">= 98% of started checkouts complete",
        measurement="Provider dashboard and payment events",
    ),
    risk=Risk(
        description="A lost webhook leaves a payment in an unknown state.",
        likelihood="medium",
        impact="high",
        mitigation="Idempotent webhook handler keyed on the provider's event id, plus a nightly "
        "reconciliation job.",
    ),
    nfr=NonFunctionalRequirement(
        area="Payments",
        requirement="Create a checkout session",
        target="p95 <= 800 ms (excluding the provider's hosted page)",
        measurement="API latency histogram per route",
    ),
    component=Component(
        name="Payment Service",
        technology="Stripe API and webhooks",
        responsibility="Creates checkout sessions, handles provider webhooks idempotently and "
        "keeps the payment ledger.",
    ),
    external=Actor(
        name="Stripe",
        description="Payment provider: hosted checkout, cards and wallets, payouts.",
        kind="external_system",
    ),
    entities=(
        Entity(
            name="Payment",
            description="Money paid by a user, mirrored from the provider.",
            attributes=["id", "user_id", "amount", "currency", "status", "provider_ref"],
        ),
    ),
    decision=_decision(
        "Use a hosted payment provider",
        "The product takes payments. Handling card data ourselves would put the whole system "
        "in PCI DSS scope, which a small team cannot carry.",
        (
            (
                "Stripe Checkout",
                ("Hosted page keeps card data off our servers", "Excellent API and test mode"),
                ("Per-transaction fees", "Vendor lock-in for payment flows"),
            ),
            (
                "Adyen",
                ("Strong in enterprise and many local methods",),
                ("Heavier onboarding", "Overkill at this volume"),
            ),
            (
                "Own card processing",
                ("No provider fees beyond the acquirer",),
                ("Full PCI DSS scope", "Months of work", "High risk"),
            ),
        ),
        "Use Stripe Checkout. Our Payment Service creates sessions, and webhooks update the "
        "ledger idempotently; no card data ever reaches our servers.",
        (
            ("PCI scope stays at SAQ A", "Fast to deliver"),
            ("Provider fees on every payment",),
            ("Webhook outages; provider account holds",),
            ("Webhook failure rate", "Payments stuck in 'pending' for more than 1 h"),
        ),
    ),
    epic=EpicSpec(
        name="Payments",
        goal="Let users pay in the app with a hosted checkout and a reconciled ledger.",
        tasks=(
            "Create the Stripe account, products and test-mode keys",
            "Build the Payment Service: checkout sessions and the payment ledger",
            "Handle webhooks idempotently, keyed on the provider's event id",
            "Send receipts and show the payment history",
            "Add the nightly reconciliation job",
        ),
        acceptance=(
            "A test-mode payment moves from pending to paid within 5 s of the webhook",
            "Replaying a webhook does not create a second ledger entry",
            "No card number is stored or logged anywhere in our systems",
        ),
        out_of_scope=("Refund automation beyond full refunds", "Invoicing for businesses"),
        effort_days=10,
    ),
    security="No card data touches our servers: the hosted checkout keeps us in PCI DSS SAQ A "
    "scope, and webhook signatures are verified.",
    resilience="Calls to the payment provider sit behind a circuit breaker; webhooks are "
    "idempotent and can be replayed safely.",
)

REALTIME = Trait(
    key="realtime",
    keywords=phrases(
        "real time, realtime, live updates, live tracking, live chat, live status, live feed, "
        "instant, instantly, websocket, websockets, collaborative, at the same time"
    ),
    feature=Feature(
        name="Live updates",
        description="A change made by one person appears on everyone else's screen within a "
        "second, without refreshing.",
        priority="should",
    ),
    goal="Show everyone the same, current picture without refreshing.",
    pain="information goes stale between refreshes, so people act on an outdated picture",
    need="See changes made by others the moment they happen",
    non_goal="Instant on-screen updates: screens refresh when opened or pulled down.",
    question="Which screens must update instantly, and which can refresh on demand?",
    metric=SuccessMetric(
        name="Update delay",
        target="p95 <= 1 s from a change to every open screen",
        measurement="End-to-end probe publishing a test event every minute",
    ),
    risk=Risk(
        description="Many idle connections exhaust the API instances.",
        likelihood="low",
        impact="medium",
        mitigation="Run the gateway as its own process, cap connections per instance and "
        "scale on connection count.",
    ),
    nfr=NonFunctionalRequirement(
        area="Live updates",
        requirement="Delivery of an event from write to subscribed clients",
        target="p95 <= 500 ms",
        measurement="End-to-end probe every minute",
    ),
    component=Component(
        name="Realtime Gateway",
        technology="WebSockets, Redis pub/sub",
        responsibility="Holds client connections and pushes domain events to the clients "
        "subscribed to them.",
    ),
    container=Container(
        name="Cache and pub/sub",
        kind="queue",
        technology="Redis 7",
        responsibility="Fans out live events between API instances and caches hot reads.",
    ),
    decision=_decision(
        "Push live updates over WebSockets with Redis pub/sub",
        "Several people look at the same data at once and must see each other's changes "
        "immediately. The API runs as more than one instance.",
        (
            (
                "Short polling",
                ("Trivial to build",),
                ("Wasteful", "Updates arrive seconds late"),
            ),
            (
                "Server-Sent Events",
                ("Simple, works through proxies",),
                ("One-way only", "Needs its own fan-out between instances"),
            ),
            (
                "WebSockets with Redis pub/sub",
                ("Two-way, low latency", "Fan-out across instances"),
                ("Connection state to manage", "Another moving part (Redis)"),
            ),
        ),
        "Use a WebSocket gateway; API instances publish domain events to Redis and every "
        "gateway instance forwards them to its subscribers.",
        (
            ("Sub-second updates", "Scales horizontally"),
            ("Redis becomes a dependency",),
            ("Reconnect storms after a deploy",),
            ("Open connections per instance", "Event delivery latency p95"),
        ),
    ),
    epic=EpicSpec(
        name="Real-time Updates",
        goal="Push changes to every open screen within a second.",
        tasks=(
            "Add the WebSocket gateway with token authentication",
            "Publish domain events to Redis from the API",
            "Subscribe screens to the events they show",
            "Reconnect with backoff and resynchronise after a gap",
        ),
        acceptance=(
            "A change appears on a second open screen within 1 s (p95)",
            "A client that reconnects after 5 minutes shows the current state",
        ),
        out_of_scope=("Presence indicators",),
        effort_days=8,
    ),
    resilience="Clients reconnect with jittered backoff and reload state after a gap, so a "
    "missed event never leaves a screen wrong.",
)

MACHINE_LEARNING = Trait(
    key="ml",
    keywords=phrases(
        "machine learning, ml, ai, predict, predicts, prediction, predictions, recommend, "
        "recommends, recommendation, recommendations, forecast, forecasts, forecasting, classify, "
        "classification, computer vision, llm, personalised, personalized, smart suggestions"
    ),
    feature=Feature(
        name="Smart suggestions",
        description="The app suggests the most relevant options for each person from past "
        "activity, and says why.",
        priority="could",
    ),
    goal="Help people decide faster with suggestions they can understand.",
    pain="decisions rest on guesswork because the data that could guide them is never used",
    need="Get relevant suggestions without configuring anything",
    non_goal="Automated suggestions or predictions; people choose for themselves.",
    question="Which decisions should suggestions support, and what data may be used for them?",
    metric=SuccessMetric(
        name="Suggestion acceptance",
        target=">= 25% of shown suggestions are used",
        measurement="Suggestion impressions and clicks in product analytics",
    ),
    risk=Risk(
        description="Suggestions are poor at launch because there is little data.",
        likelihood="high",
        impact="medium",
        mitigation="Start with transparent rules and popularity baselines; switch to a model "
        "only when it beats them offline.",
    ),
    nfr=NonFunctionalRequirement(
        area="Suggestions",
        requirement="Prediction latency",
        target="p95 <= 300 ms",
        measurement="Inference worker latency histogram",
    ),
    component=Component(
        name="Recommendation Service",
        technology="scikit-learn models exported to ONNX",
        responsibility="Builds features from activity data, requests predictions and records "
        "feedback for retraining.",
    ),
    container=Container(
        name="Inference worker",
        kind="worker",
        technology="Python 3.12, ONNX Runtime",
        responsibility="Scores requests and retrains models on a schedule.",
    ),
    entities=(
        Entity(
            name="Prediction",
            description="A suggestion shown to a user, with the model version behind it.",
            attributes=["id", "user_id", "subject", "score", "model_version", "created_at"],
        ),
    ),
    decision=_decision(
        "Serve models from a separate inference worker",
        "Suggestions need a trained model. Model code has different dependencies, release "
        "cadence and resource needs than the API.",
        (
            (
                "In-process in the API",
                ("No extra service",),
                ("Heavy dependencies in the API", "Retraining blocks releases"),
            ),
            (
                "Separate inference worker",
                ("Independent releases and scaling", "Model versions are explicit"),
                ("One more deployable",),
            ),
            (
                "Managed ML API",
                ("No model operations",),
                ("Cost per call", "Data leaves our control"),
            ),
        ),
        "Run an inference worker that loads versioned ONNX models; the API asks it for "
        "predictions with a 300 ms timeout and falls back to rule-based suggestions.",
        (
            ("Models ship without API releases", "Graceful fallback"),
            ("Another service to monitor",),
            ("Model drift; biased suggestions",),
            ("Acceptance rate per model version", "Prediction latency p95"),
        ),
    ),
    epic=EpicSpec(
        name="Recommendations",
        goal="Offer useful, explainable suggestions with a safe fallback.",
        tasks=(
            "Define the events the model learns from and start collecting them",
            "Build a rule-based baseline and its offline evaluation",
            "Train the first model, export it to ONNX and version it",
            "Serve predictions from the inference worker with a timeout and fallback",
            "Show suggestions with a short explanation",
        ),
        acceptance=(
            "The model beats the baseline on the offline evaluation before it is switched on",
            "Predictions return within 300 ms (p95) or the baseline answers instead",
        ),
        out_of_scope=("Online learning", "Deep learning models"),
        effort_days=15,
    ),
    needs_worker=True,
    resilience="The API calls the inference worker with a 300 ms timeout and serves rule-based "
    "suggestions when it is slow or down.",
)

IOT = Trait(
    key="iot",
    keywords=phrases(
        "iot, sensor, sensors, telemetry, mqtt, smart meter, smart meters, thermostat, "
        "thermostats, hardware, connected devices, beacon, beacons, firmware, gps tracker, gps "
        "trackers"
    ),
    feature=Feature(
        name="Sensor data",
        description="Readings from connected devices arrive continuously and show up as charts "
        "and alerts.",
        priority="must",
    ),
    goal="Turn device readings into timely, trustworthy information.",
    pain="device readings are collected but nobody sees them in time to act",
    need="See device readings and get alerted when a value is out of range",
    non_goal="Connecting physical devices; data is entered by people.",
    question="Which devices and protocols must be supported, and how often do they report?",
    metric=SuccessMetric(
        name="Reading freshness",
        target="95% of readings visible within 10 s of measurement",
        measurement="Ingestion lag metric",
    ),
    risk=Risk(
        description="Bursts from many devices overload ingestion.",
        likelihood="medium",
        impact="high",
        mitigation="Buffer in the broker, insert in batches and rate-limit per device.",
    ),
    nfr=NonFunctionalRequirement(
        area="Telemetry",
        requirement="Sustained ingestion",
        target=">= 1,000 readings/s with p95 write latency <= 1 s",
        measurement="Load test with simulated devices",
    ),
    component=Component(
        name="Device Ingestion",
        technology="MQTT consumer",
        responsibility="Authenticates devices, validates readings and writes them to time-series "
        "storage in batches.",
    ),
    container=Container(
        name="MQTT broker",
        kind="queue",
        technology="Eclipse Mosquitto or EMQX",
        responsibility="Receives telemetry from devices over MQTT with TLS.",
    ),
    external=Actor(
        name="Field devices",
        description="Sensors and gateways that publish readings over MQTT.",
        kind="external_system",
    ),
    technology=TechnologyChoice(
        layer="Time-series storage",
        technology="TimescaleDB extension on PostgreSQL",
        reason="Stores readings in hypertables with retention and compression, next to the "
        "relational data.",
    ),
    entities=(
        Entity(
            name="Device",
            description="A registered sensor or gateway.",
            attributes=["id", "serial", "owner_id", "firmware", "last_seen_at"],
        ),
        Entity(
            name="Reading",
            description="One measurement from a device.",
            attributes=["device_id", "metric", "value", "recorded_at"],
        ),
    ),
    decision=_decision(
        "Ingest telemetry over MQTT into TimescaleDB",
        "Devices report continuously over unreliable networks. Readings are time series that "
        "must be queried by device and period, next to the relational data.",
        (
            (
                "Devices call the HTTP API",
                ("No new infrastructure",),
                ("Heavy for small devices", "No buffering during bursts"),
            ),
            (
                "MQTT broker and TimescaleDB",
                ("Lightweight protocol made for devices", "Buffering", "SQL on time series"),
                ("A broker to operate",),
            ),
            (
                "Managed IoT hub",
                ("Device management included",),
                ("Cloud lock-in", "Cost grows with message volume"),
            ),
        ),
        "Devices publish to an MQTT broker; the Device Ingestion component consumes, validates "
        "and batch-inserts readings into TimescaleDB hypertables.",
        (
            ("Handles bursts", "One database for all data"),
            ("The broker needs monitoring and TLS certificates",),
            ("Device credential leaks",),
            ("Ingestion lag", "Broker queue depth", "Readings rejected per device"),
        ),
    ),
    epic=EpicSpec(
        name="Device Ingestion",
        goal="Receive, validate and store device readings reliably.",
        tasks=(
            "Stand up the MQTT broker with TLS and per-device credentials",
            "Build the ingestion consumer with batch inserts",
            "Create TimescaleDB hypertables with retention and compression",
            "Add alert rules for out-of-range readings",
            "Load-test with 1,000 simulated devices",
        ),
        acceptance=(
            "1,000 readings/s are stored with p95 write latency <= 1 s",
            "A revoked device credential is rejected within 1 minute",
        ),
        out_of_scope=("Over-the-air firmware updates",),
        effort_days=14,
    ),
    security="Each device has its own credential (certificate or token) that can be revoked "
    "individually.",
    resilience="The broker buffers readings while ingestion is down; inserts are idempotent "
    "on (device, metric, timestamp).",
)

MULTI_TENANT = Trait(
    key="multitenant",
    keywords=phrases(
        "multi tenant, multitenant, tenant, tenants, saas, organisations, organizations, white "
        "label, b2b, workspaces, workspace, per company, several companies, each organisation, "
        "each organization"
    ),
    feature=Feature(
        name="Separate organisation workspaces",
        description="Each organisation gets its own workspace, members and settings; nobody sees "
        "another organisation's data.",
        priority="must",
    ),
    goal="Serve many organisations from one deployment without any data crossing between them.",
    pain="every organisation runs its own copy of spreadsheets and tools, so nothing is shared "
    "or maintained",
    need="Manage their own organisation's members and settings",
    non_goal="Serving several separate organisations from one deployment.",
    question="Do organisations need their own branding, domains or data-retention settings?",
    metric=SuccessMetric(
        name="Cross-tenant data exposure",
        target="0 incidents",
        measurement="Cross-tenant test suite in CI and access-log review",
    ),
    risk=Risk(
        description="A missing tenant filter shows one organisation's data to another.",
        likelihood="low",
        impact="high",
        mitigation="Tenant id from the token only, PostgreSQL row-level security as a second "
        "wall, and cross-tenant tests for every endpoint.",
    ),
    nfr=NonFunctionalRequirement(
        area="Tenancy",
        requirement="Endpoints covered by a cross-tenant access test",
        target="100%",
        measurement="CI test report",
    ),
    component=Component(
        name="Tenant Management",
        technology="PostgreSQL row-level security",
        responsibility="Creates organisations, manages memberships and roles, and sets the "
        "tenant context for every request.",
    ),
    entities=(
        Entity(
            name="Organisation",
            description="A tenant: a customer organisation with its own members and data.",
            attributes=["id", "name", "plan", "created_at"],
        ),
    ),
    decision=_decision(
        "Isolate tenants with a shared schema and row-level security",
        "Many organisations use one deployment. Their data must never mix, yet a small team "
        "cannot operate a database per customer.",
        (
            (
                "Database per tenant",
                ("Strongest isolation",),
                ("Operational cost grows with every customer", "Slow onboarding"),
            ),
            (
                "Schema per tenant",
                ("Good isolation",),
                ("Migrations multiply", "Connection pool pressure"),
            ),
            (
                "Shared schema with tenant_id and row-level security",
                ("One migration path", "Cheap onboarding", "Database enforces isolation"),
                ("Every table needs a policy", "Noisy neighbours"),
            ),
        ),
        "Every tenant-owned table carries tenant_id with a FORCE row-level security policy; the "
        "application sets the tenant per transaction from the verified token and never "
        "connects as a superuser.",
        (
            ("Isolation enforced twice (code and database)", "Simple operations"),
            ("Queries must always run inside a tenant context",),
            ("A policy forgotten on a new table",),
            ("Tables without an RLS policy (CI check)", "Query latency per tenant"),
        ),
    ),
    epic=EpicSpec(
        name="Multi-tenancy",
        goal="Isolate organisations completely while sharing one deployment.",
        tasks=(
            "Add tenant_id and row-level security policies to every tenant-owned table",
            "Set the tenant context per transaction from the verified token",
            "Build organisation creation, invitations and role management",
            "Write cross-tenant access tests for every endpoint",
        ),
        acceptance=(
            "A user of organisation A gets 404 for every resource of organisation B",
            "The application database role cannot bypass row-level security",
        ),
        out_of_scope=("Custom domains per organisation",),
        effort_days=10,
    ),
    security="The tenant comes from the verified token, never from the request; cross-tenant "
    "access answers 404, and row-level security backs up every query.",
)

PRIVACY = Trait(
    key="privacy",
    keywords=phrases(
        "gdpr, privacy, personal data, consent, data protection, ccpa, eu, europe, european, "
        "right to be forgotten, anonymous, anonymised, anonymized"
    ),
    feature=Feature(
        name="Privacy controls",
        description="People can see, download and delete their personal data, and manage what "
        "they consented to.",
        priority="must",
    ),
    goal="Handle personal data lawfully and transparently, with data-subject requests automated.",
    pain="personal data sits in scattered spreadsheets and chats with no control over who sees it",
    need="Control their personal data and know how it is used",
    non_goal="Self-service export and deletion of personal data; support handles requests.",
    question="Which personal data is strictly necessary, and how long must it be kept?",
    metric=SuccessMetric(
        name="Data-subject requests fulfilled on time",
        target="100% within 72 h",
        measurement="Privacy Service job log",
    ),
    risk=Risk(
        description="Personal data is kept longer than needed or copied into logs.",
        likelihood="medium",
        impact="high",
        mitigation="Retention periods per entity, scrubbing of personal fields in logs and a "
        "yearly data-protection review.",
    ),
    nfr=NonFunctionalRequirement(
        area="Privacy",
        requirement="Automated data export or erasure after a request",
        target="<= 72 h (legal limit 30 days)",
        measurement="Privacy Service job metrics",
    ),
    component=Component(
        name="Privacy Service",
        technology="scheduled export and erasure jobs",
        responsibility="Records consent, exports a person's data on request and erases or "
        "anonymises it on deletion.",
    ),
    technology=TechnologyChoice(
        layer="Data residency",
        technology="One cloud region in the users' jurisdiction (EU for GDPR)",
        reason="Keeps personal data where the regulation expects it and simplifies the records "
        "of processing.",
    ),
    entities=(
        Entity(
            name="ConsentRecord",
            description="What a person agreed to, and when.",
            attributes=["id", "user_id", "purpose", "granted", "recorded_at"],
        ),
    ),
    decision=_decision(
        "Build privacy in: data minimisation and automated data-subject requests",
        "The product processes personal data of identifiable people and must meet GDPR: "
        "lawful basis, minimisation, access, erasure and portability.",
        (
            (
                "Manual handling by support",
                ("Nothing to build",),
                ("Slow, error-prone", "Does not scale"),
            ),
            (
                "Automated export and erasure in the product",
                ("Fast and auditable", "Self-service for users"),
                ("Every new table must be covered",),
            ),
            (
                "Third-party consent platform",
                ("Ready-made consent banners",),
                ("Does not reach our own data", "Another processor to vet"),
            ),
        ),
        "Keep only the personal data each feature needs, host it in one region in the users' "
        "jurisdiction, and automate export and erasure through the Privacy Service.",
        (
            ("Requests handled in hours, not weeks", "Less data to protect"),
            ("Each feature needs a retention rule",),
            ("Backups still hold erased data until they expire",),
            ("Requests older than 72 h", "Personal fields found in logs"),
        ),
    ),
    epic=EpicSpec(
        name="Privacy and Compliance",
        goal="Meet GDPR obligations with automated, auditable data handling.",
        tasks=(
            "Write the record of processing and a retention rule per entity",
            "Build consent capture and withdrawal",
            "Automate personal-data export and erasure",
            "Scrub personal fields from logs and traces",
        ),
        acceptance=(
            "A data export for a test user contains every personal field the system holds",
            "After erasure the user's personal data is gone from all live tables",
        ),
        out_of_scope=("Certification audits",),
        effort_days=8,
    ),
    needs_worker=True,
    security="Personal data is minimised, encrypted at rest, scrubbed from logs and deleted on "
    "the documented retention schedule.",
)

HEALTH = Trait(
    key="health",
    keywords=phrases(
        "health, healthcare, patient, patients, clinic, clinics, medical, hipaa, doctor, doctors, "
        "nurse, nurses, therapy, therapist, therapists, hospital, hospitals, clinical"
    ),
    feature=Feature(
        name="Protected health records",
        description="Health information is visible only to the people who care for the patient, "
        "and every access is logged.",
        priority="must",
    ),
    goal="Protect health information to the standard patients and regulators expect.",
    pain="sensitive health information travels through channels that were never meant for it",
    need="Trust that health information is seen only by the right people",
    non_goal="Storing health or medical information.",
    question="Which health regulations apply (HIPAA, GDPR special categories, national rules)?",
    metric=SuccessMetric(
        name="Audited access to sensitive records",
        target="100% of reads and writes",
        measurement="Audit coverage test in CI",
    ),
    risk=Risk(
        description="A breach of health data brings regulatory penalties and loss of trust.",
        likelihood="low",
        impact="high",
        mitigation="Field-level encryption, least-privilege roles, audit of every access and a "
        "penetration test before launch.",
    ),
    nfr=NonFunctionalRequirement(
        area="Audit",
        requirement="Sensitive reads and writes with an audit entry",
        target="100%",
        measurement="Audit coverage test in CI",
    ),
    component=Component(
        name="Audit Log",
        technology="append-only table with hash chaining",
        responsibility="Records every read and change of sensitive records, tamper-evidently.",
    ),
    entities=(
        Entity(
            name="AuditEntry",
            description="One access to a sensitive record.",
            attributes=["id", "actor_id", "action", "record_type", "record_id", "at"],
        ),
    ),
    decision=_decision(
        "Encrypt health fields and keep an append-only audit log",
        "The product stores health information, a special category of personal data, and "
        "must show who accessed what.",
        (
            (
                "Database encryption at rest only",
                ("Transparent to the code",),
                ("Does not protect against over-broad access",),
            ),
            (
                "Field-level encryption plus append-only audit log",
                ("Protects the most sensitive fields", "Every access is provable"),
                ("Key management", "Encrypted fields are not searchable"),
            ),
            (
                "Separate health-data vault service",
                ("Strong separation",),
                ("Large effort for a small team",),
            ),
        ),
        "Encrypt health fields with keys held in a managed KMS and write every access to an "
        "append-only, hash-chained audit log.",
        (
            ("Breach impact limited", "Access is provable"),
            ("Search on encrypted fields needs blind indexes",),
            ("Lost keys make data unreadable",),
            ("Audit gaps", "Key rotation dates"),
        ),
    ),
    epic=EpicSpec(
        name="Audit and Compliance",
        goal="Protect health information and prove every access.",
        tasks=(
            "Set up the managed KMS and field-level encryption",
            "Write audit entries for every read and write of sensitive records",
            "Add an audit viewer for compliance staff",
            "Commission a penetration test",
        ),
        acceptance=(
            "Every sensitive read produces an audit entry (CI coverage test)",
            "Tampering with an audit entry is detected by the chain check",
        ),
        out_of_scope=("Integration with hospital record systems",),
        effort_days=10,
    ),
    security="Health data is encrypted at field level with keys in a managed KMS; access is "
    "role-based and audited.",
)

GEO = Trait(
    key="geo",
    keywords=phrases(
        "map, maps, location, locations, nearby, gps, geolocation, route, routes, routing, "
        "distance, near me, neighbourhood, neighborhood, neighbourhoods, neighborhoods, "
        "geographic"
    ),
    feature=Feature(
        name="Map and nearby search",
        description="See what is close by on a map and search by distance from where you are.",
        priority="should",
    ),
    goal="Make distance and place part of every decision.",
    pain="nobody knows what is close by, so people travel further than they need to",
    need="Find what is near them on a map",
    non_goal="Maps and location search.",
    question="How precise must locations be, and may the app use the device's location?",
    metric=SuccessMetric(
        name="Nearby searches that find a result",
        target=">= 80%",
        measurement="Search analytics (zero-result rate)",
    ),
    risk=Risk(
        description="Location data reveals where people live.",
        likelihood="medium",
        impact="high",
        mitigation="Store coarse locations by default, ask consent for precise location and "
        "never show other people's exact position.",
    ),
    nfr=NonFunctionalRequirement(
        area="Location",
        requirement="Nearby search within 5 km",
        target="p95 <= 200 ms",
        measurement="API latency histogram for the search route",
    ),
    component=Component(
        name="Geo Service",
        technology="PostGIS",
        responsibility="Geocodes addresses and answers distance and area queries.",
    ),
    external=Actor(
        name="Map tile provider",
        description="Serves base map tiles (an OpenStreetMap-based provider).",
        kind="external_system",
    ),
    technology=TechnologyChoice(
        layer="Geospatial",
        technology="PostGIS on PostgreSQL; MapLibre in the client",
        reason="Distance and area queries in SQL with spatial indexes; open-source map "
        "rendering without per-view fees.",
    ),
    entities=(
        Entity(
            name="Place",
            description="A named location with coordinates.",
            attributes=["id", "name", "location (point)", "address"],
        ),
    ),
    decision=_decision(
        "Answer location queries with PostGIS",
        "Users search by distance and see places on a map. Queries must stay fast as the "
        "number of places grows.",
        (
            (
                "Distance in application code",
                ("No extension needed",),
                ("Full scans", "Slow beyond a few thousand rows"),
            ),
            (
                "PostGIS",
                ("Spatial indexes", "Standard SQL functions", "Same database"),
                ("Extension must be available in hosting",),
            ),
            (
                "Search engine with geo support",
                ("Combines text and distance",),
                ("Another system to sync and run",),
            ),
        ),
        "Use PostGIS geography columns with GiST indexes for all location queries.",
        (
            ("Fast nearby queries", "No extra system"),
            ("Hosting must offer PostGIS",),
            ("Precise locations are sensitive data",),
            ("Nearby search p95", "Index usage"),
        ),
    ),
    epic=EpicSpec(
        name="Maps and Location",
        goal="Show places on a map and search by distance.",
        tasks=(
            "Enable PostGIS and add geography columns with GiST indexes",
            "Geocode addresses on save",
            "Build the nearby search endpoint",
            "Add the map view with MapLibre",
        ),
        acceptance=(
            "Nearby search within 5 km answers in <= 200 ms (p95) with 100,000 places",
            "Other people's exact positions are never exposed",
        ),
        out_of_scope=("Turn-by-turn navigation",),
        effort_days=8,
    ),
)

SCHEDULING = Trait(
    key="scheduling",
    keywords=phrases(
        "schedule, schedules, scheduling, booking, bookings, book, reserve, reserves, "
        "reservation, reservations, appointment, appointments, calendar, calendars, slot, slots, "
        "shift, shifts, rota, rotas, timetable, waiting list, allocate, allocates, allocation"
    ),
    feature=Feature(
        name="Scheduling and bookings",
        description="See availability on a calendar, book a slot and get a clear confirmation; "
        "double bookings are impossible.",
        priority="must",
    ),
    goal="Make availability visible to everyone and rule out double bookings.",
    pain="availability lives in spreadsheets and group chats, so things get double-booked and "
    "nobody knows what is free",
    need="See what is free and book it in a few taps",
    non_goal="Calendars and bookings.",
    question="How far ahead may people book, and is there a limit per person?",
    metric=SuccessMetric(
        name="Double bookings",
        target="0 per month",
        measurement="Nightly overlap check on reservations",
    ),
    risk=Risk(
        description="Time zones and daylight-saving changes shift bookings.",
        likelihood="medium",
        impact="medium",
        mitigation="Store UTC ranges plus the resource's time zone and test DST transitions.",
    ),
    nfr=NonFunctionalRequirement(
        area="Scheduling",
        requirement="Create or cancel a booking",
        target="p95 <= 300 ms; 0 double bookings",
        measurement="API latency histogram and a nightly overlap check",
    ),
    component=Component(
        name="Scheduling Service",
        technology="PostgreSQL exclusion constraints",
        responsibility="Keeps availability, takes reservations and waiting lists, and rejects "
        "overlapping bookings.",
    ),
    entities=(
        Entity(
            name="Reservation",
            description="A booked time range on a resource.",
            attributes=["id", "resource_id", "user_id", "starts_at", "ends_at", "status"],
        ),
    ),
    decision=_decision(
        "Prevent double bookings in the database",
        "People book the same resources concurrently, often at the same moment when a slot "
        "opens. A double booking destroys trust in the system.",
        (
            (
                "Check in application code",
                ("Simple",),
                ("Race conditions between concurrent requests",),
            ),
            (
                "Exclusion constraint on time ranges",
                ("Impossible to double-book, even under concurrency", "Enforced in one place"),
                ("PostgreSQL-specific", "Constraint errors must be mapped to messages"),
            ),
            (
                "Distributed lock per resource",
                ("Works across databases",),
                ("Lock service to run", "Easy to get wrong"),
            ),
        ),
        "Store each reservation as a tstzrange with an EXCLUDE USING gist constraint on "
        "(resource_id, range); the API turns a violation into a friendly 409 Conflict.",
        (
            ("Correct under any concurrency", "Little code"),
            ("Ties the schema to PostgreSQL",),
            ("Long-running transactions holding locks",),
            ("409 conflicts per day", "Nightly overlap check result"),
        ),
    ),
    epic=EpicSpec(
        name="Scheduling",
        goal="Let people see availability and book without conflicts.",
        tasks=(
            "Model resources, availability rules and reservations",
            "Add the exclusion constraint and map violations to 409 Conflict",
            "Build the calendar view and the booking flow",
            "Add waiting lists that offer freed slots in order",
            "Test time zones and daylight-saving transitions",
        ),
        acceptance=(
            "Two concurrent bookings of the same slot: exactly one succeeds",
            "A cancelled slot is offered to the first person on the waiting list",
            "Bookings across a DST change keep their local start time",
        ),
        out_of_scope=("Recurring bookings with exceptions", "Syncing external calendars"),
        effort_days=10,
    ),
)

SHARING = Trait(
    key="sharing",
    keywords=phrases(
        "share, shares, sharing, shared, lend, lends, lending, borrow, borrows, borrowing, loan, "
        "loans, tool library, swap, swaps, swapping"
    ),
    feature=Feature(
        name="Lending and borrowing",
        description="List shared items, request to borrow them, and track who has what and when "
        "it is due back.",
        priority="must",
    ),
    goal="Know at any moment who holds each shared item and when it comes back.",
    pain="shared items are tracked on paper or not at all, so things go missing and nobody "
    "knows who has them",
    need="See what is available to borrow and who has an item now",
    non_goal="Lending or borrowing items between users.",
    question="What happens when a borrowed item comes back late or damaged?",
    metric=SuccessMetric(
        name="Items returned on time",
        target=">= 90% of loans",
        measurement="Loan records (returned before the due date)",
    ),
    risk=Risk(
        description="Items come back late or damaged and people lose trust in sharing.",
        likelihood="medium",
        impact="medium",
        mitigation="Condition notes at hand-over, due-date reminders and a visible borrowing "
        "history.",
    ),
    nfr=NonFunctionalRequirement(
        area="Lending",
        requirement="List and filter available items",
        target="p95 <= 250 ms for 10,000 items",
        measurement="API latency histogram",
    ),
    component=Component(
        name="Lending Service",
        technology="loan state machine",
        responsibility="Keeps the shared inventory, handles borrow requests, hand-overs, "
        "returns and overdue reminders.",
    ),
    entities=(
        Entity(
            name="Loan",
            description="One item lent to one person for a period.",
            attributes=["id", "item_id", "borrower_id", "due_at", "returned_at", "status"],
        ),
    ),
    decision=_decision(
        "Model loans as an explicit state machine",
        "A shared item moves through requested, lent, returned and overdue states; people "
        "need a reliable history of who had what.",
        (
            (
                "Status flags on the item",
                ("Quick to build",),
                ("No history", "Impossible states creep in"),
            ),
            (
                "Loan records with explicit state transitions",
                ("Full history", "Only valid transitions allowed", "Easy to test"),
                ("More tables and code",),
            ),
            (
                "Event sourcing",
                ("Complete audit trail",),
                ("Heavy for this domain", "Harder queries"),
            ),
        ),
        "Each loan is a record whose state changes only through named transitions (request, "
        "hand over, return, mark overdue); the item's availability is derived from open loans.",
        (
            ("Clear history", "Invalid transitions rejected"),
            ("Every new state needs a migration",),
            ("Disputes about hand-overs that happened outside the app",),
            ("Overdue loans per week", "Rejected transitions"),
        ),
    ),
    epic=EpicSpec(
        name="Lending",
        goal="Track shared items from request to return.",
        tasks=(
            "Model items, loans and their state transitions",
            "Build the item catalogue with availability",
            "Build request, hand-over and return flows with condition notes",
            "Send due-date and overdue reminders",
        ),
        acceptance=(
            "An item on loan shows its current holder and due date",
            "An invalid transition (return before hand-over) is rejected",
            "Overdue loans trigger a reminder within 1 hour of the due time",
        ),
        out_of_scope=("Deposits and damage fees",),
        effort_days=9,
    ),
)

MARKETPLACE = Trait(
    key="marketplace",
    keywords=phrases(
        "marketplace, sell, sells, selling, buy, buys, buying, seller, sellers, buyer, buyers, "
        "vendor, vendors, listing, listings, orders, cart"
    ),
    feature=Feature(
        name="Listings and orders",
        description="Sellers publish listings; buyers search, order and follow each order to "
        "delivery.",
        priority="must",
    ),
    goal="Bring buyers and sellers together with a simple, trustworthy order flow.",
    pain="buyers and sellers find each other through scattered posts, and orders get lost",
    need="Publish, find and order items with a clear status at every step",
    non_goal="Buying and selling between users.",
    question="Who handles delivery, disputes and returns between buyers and sellers?",
    metric=SuccessMetric(
        name="Orders completed",
        target=">= 95% of placed orders",
        measurement="Order status events",
    ),
    risk=Risk(
        description="Fraudulent listings or buyers damage the marketplace's reputation.",
        likelihood="medium",
        impact="high",
        mitigation="Verified seller onboarding, reporting tools and review of flagged listings.",
    ),
    nfr=NonFunctionalRequirement(
        area="Orders",
        requirement="Place an order",
        target="p95 <= 400 ms",
        measurement="API latency histogram",
    ),
    component=Component(
        name="Orders Service",
        technology="order state machine with a transactional outbox",
        responsibility="Manages listings and orders from placement to fulfilment and publishes "
        "order events.",
    ),
    entities=(
        Entity(
            name="Listing",
            description="Something a seller offers.",
            attributes=["id", "seller_id", "title", "price", "status"],
        ),
        Entity(
            name="Order",
            description="A buyer's order for a listing.",
            attributes=["id", "listing_id", "buyer_id", "status", "total"],
        ),
    ),
    epic=EpicSpec(
        name="Listings and Orders",
        goal="Let sellers list and buyers order, with a reliable status flow.",
        tasks=(
            "Model listings and orders with their states",
            "Build listing creation with moderation flags",
            "Build the order flow and status notifications",
            "Publish order events through a transactional outbox",
        ),
        acceptance=(
            "An order moves through placed, accepted, fulfilled with an event for each step",
            "A flagged listing is hidden until reviewed",
        ),
        out_of_scope=("Shipping label integration",),
        effort_days=12,
    ),
)

NOTIFICATIONS = Trait(
    key="notifications",
    keywords=phrases(
        "notify, notifies, notification, notifications, remind, reminds, reminder, reminders, "
        "alert, alerts, email, emails, sms, push notifications, digest, announcement, "
        "announcements"
    ),
    feature=Feature(
        name="Reminders and notifications",
        description="Timely push, email or SMS messages about what matters to each person, with "
        "per-channel preferences.",
        priority="should",
    ),
    goal="Tell people what needs their attention, at the right time and no more often.",
    pain="important updates get buried in busy group chats, so people miss what concerns them",
    need="Get reminded before something is due, without being spammed",
    non_goal="Push, email or SMS messages; people check the app themselves.",
    question="Which events deserve a notification, and on which channels (push, email, SMS)?",
    metric=SuccessMetric(
        name="Notification opt-out rate",
        target="<= 5% per month",
        measurement="Preference changes in the Notification Service",
    ),
    risk=Risk(
        description="Too many notifications make people mute the app.",
        likelihood="medium",
        impact="medium",
        mitigation="Per-channel preferences, daily digests and a rate limit per person.",
    ),
    nfr=NonFunctionalRequirement(
        area="Notifications",
        requirement="From trigger to hand-off to the delivery provider",
        target="p95 <= 60 s",
        measurement="Queue latency metric",
    ),
    component=Component(
        name="Notification Service",
        technology="job queue and provider SDKs",
        responsibility="Decides who to notify, renders messages and sends them through push, "
        "email or SMS with retries.",
    ),
    external=Actor(
        name="Email and push providers",
        description="Deliver email (for example Postmark or Amazon SES) and push messages (FCM, "
        "APNs).",
        kind="external_system",
    ),
    entities=(
        Entity(
            name="Notification",
            description="A message sent to a user on one channel.",
            attributes=["id", "user_id", "channel", "template", "status", "sent_at"],
        ),
    ),
    decision=_decision(
        "Send notifications asynchronously through a job queue",
        "Reminders and announcements go out by push and email. Providers are slow at times "
        "and sometimes fail; requests must not wait for them.",
        (
            (
                "Send inside the request",
                ("Simple",),
                ("Slow requests", "Lost messages when a provider fails"),
            ),
            (
                "Job queue with background workers",
                ("Retries with backoff", "Scheduled reminders", "Fast requests"),
                ("A worker and a queue to operate",),
            ),
            (
                "Third-party notification platform",
                ("Templates and analytics included",),
                ("Cost", "Personal data shared with another processor"),
            ),
        ),
        "Enqueue a job per notification; workers render and send it with retries and a "
        "dead-letter queue, honouring each person's channel preferences.",
        (
            ("Requests stay fast", "Failed sends are retried"),
            ("Eventual delivery, not instant",),
            ("Queue backlog during provider outages",),
            ("Queue depth", "Send failures per provider"),
        ),
    ),
    epic=EpicSpec(
        name="Notifications",
        goal="Deliver timely reminders and announcements on the channels people choose.",
        tasks=(
            "Set up the job queue and the worker process",
            "Integrate email and push providers",
            "Build notification preferences per channel",
            "Schedule reminders and daily digests",
        ),
        acceptance=(
            "A reminder is handed to the provider within 60 s of its due time (p95)",
            "A person who turns off email receives no email",
            "A failed send is retried and ends in the dead-letter queue after 5 attempts",
        ),
        out_of_scope=("Marketing campaigns",),
        effort_days=8,
    ),
    needs_worker=True,
    resilience="Sends run in background jobs with exponential backoff, a dead-letter queue and "
    "a circuit breaker per provider.",
)

SEARCH = Trait(
    key="search",
    keywords=phrases(
        "search, searches, discover, browse, filter, filters, catalogue, catalog, directory, lookup"
    ),
    feature=Feature(
        name="Search and filters",
        description="Find things by keyword, category and availability, with results in under "
        "a second.",
        priority="should",
    ),
    goal="Let people find what they need in seconds.",
    pain="finding the right thing means scrolling through long lists or asking around",
    need="Find the right item or person quickly",
    non_goal="Full-text search; lists are short enough to browse.",
    question="What do people search for most, and by which attributes do they filter?",
    metric=SuccessMetric(
        name="Searches with no result",
        target="<= 10%",
        measurement="Search analytics",
    ),
    risk=Risk(
        description="Search quality disappoints as the catalogue grows.",
        likelihood="low",
        impact="medium",
        mitigation="Track zero-result queries; move to OpenSearch behind the same interface if "
        "needed.",
    ),
    nfr=NonFunctionalRequirement(
        area="Search",
        requirement="Keyword search with filters",
        target="p95 <= 300 ms at 100,000 records",
        measurement="API latency histogram",
    ),
    component=Component(
        name="Search",
        technology="PostgreSQL full-text search (tsvector, GIN)",
        responsibility="Indexes searchable records and answers keyword and filter queries.",
    ),
    decision=_decision(
        "Start with PostgreSQL full-text search",
        "People search by keyword and filter by attributes. The catalogue is modest at launch "
        "and the team is small.",
        (
            (
                "LIKE queries",
                ("No setup",),
                ("Slow", "No ranking or stemming"),
            ),
            (
                "PostgreSQL full-text search",
                ("Ranking and stemming", "No extra system", "Transactional consistency"),
                ("Limited fuzzy matching",),
            ),
            (
                "OpenSearch",
                ("Best relevance tools", "Scales far"),
                ("Another cluster to run and keep in sync",),
            ),
        ),
        "Use tsvector columns with GIN indexes behind a small search interface, so a move to "
        "OpenSearch later changes one component.",
        (
            ("Fast to deliver", "Always consistent"),
            ("Weaker typo tolerance",),
            ("Relevance complaints as data grows",),
            ("Zero-result rate", "Search p95 latency"),
        ),
    ),
    epic=EpicSpec(
        name="Search",
        goal="Let people find items quickly by keyword and filters.",
        tasks=(
            "Add search vectors and GIN indexes",
            "Build the search endpoint with filters and pagination",
            "Build the search screen with recent searches",
            "Log zero-result queries",
        ),
        acceptance=(
            "Search returns in <= 300 ms (p95) with 100,000 records",
            "Results respect the caller's permissions",
        ),
        out_of_scope=("Typo-tolerant fuzzy search",),
        effort_days=5,
    ),
)

MEDIA = Trait(
    key="media",
    keywords=phrases(
        "photo, photos, picture, pictures, image, images, video, videos, upload, uploads, file, "
        "files, attachment, attachments, scan, scans"
    ),
    feature=Feature(
        name="Photos and files",
        description="Attach photos and files from a phone or computer; they load fast and are "
        "resized automatically.",
        priority="should",
    ),
    goal="Let people show, not just tell, with photos and files.",
    pain="photos and documents are scattered across personal phones and inboxes",
    need="Attach a photo in one step",
    non_goal="Uploading photos or files.",
    question="What file types and sizes are needed, and how long must files be kept?",
    metric=SuccessMetric(
        name="Upload success rate",
        target=">= 99%",
        measurement="Media Service upload events",
    ),
    risk=Risk(
        description="Uploads contain malware or inappropriate content.",
        likelihood="medium",
        impact="medium",
        mitigation="Virus scan on upload, type and size limits, and a report button.",
    ),
    nfr=NonFunctionalRequirement(
        area="Uploads",
        requirement="Maximum file size; thumbnail ready after upload",
        target="<= 10 MB per file; thumbnail <= 5 s",
        measurement="Worker job metrics",
    ),
    component=Component(
        name="Media Service",
        technology="S3-compatible object storage, pre-signed URLs",
        responsibility="Issues upload URLs, scans and resizes uploads and serves them through a "
        "CDN.",
    ),
    container=Container(
        name="Object storage",
        kind="storage",
        technology="S3-compatible object storage with a CDN",
        responsibility="Stores photos and files outside the database.",
    ),
    entities=(
        Entity(
            name="MediaFile",
            description="An uploaded photo or file.",
            attributes=["id", "owner_id", "storage_key", "content_type", "size_bytes"],
        ),
    ),
    decision=_decision(
        "Upload files directly to object storage with pre-signed URLs",
        "People attach photos from their phones. Files are large compared with records and "
        "must not slow down the API or bloat the database.",
        (
            (
                "Store files in the database",
                ("One system",),
                ("Large backups", "Slow queries"),
            ),
            (
                "Upload through the API",
                ("Simple access control",),
                ("API bandwidth and memory", "Slow on mobile networks"),
            ),
            (
                "Pre-signed direct uploads to object storage",
                ("API stays light", "CDN delivery", "Cheap storage"),
                ("Post-processing is asynchronous",),
            ),
        ),
        "Clients upload straight to object storage with short-lived pre-signed URLs; a worker "
        "scans, resizes and registers each file.",
        (
            ("Fast uploads", "Cheap, durable storage"),
            ("Files appear after a short processing delay",),
            ("Orphaned uploads",),
            ("Storage growth", "Failed scans"),
        ),
    ),
    epic=EpicSpec(
        name="Media Uploads",
        goal="Let people attach photos and files safely.",
        tasks=(
            "Set up object storage, the CDN and pre-signed upload URLs",
            "Scan and resize uploads in a background job",
            "Show thumbnails and full-size views",
            "Clean up orphaned uploads daily",
        ),
        acceptance=(
            "A 5 MB photo uploads on a 4G connection and shows a thumbnail within 5 s",
            "A file over 10 MB or of a forbidden type is rejected with a clear message",
        ),
        out_of_scope=("Video transcoding",),
        effort_days=6,
    ),
    needs_worker=True,
)

ANALYTICS = Trait(
    key="analytics",
    keywords=phrases(
        "analytics, report, reports, reporting, dashboard, dashboards, insight, insights, "
        "statistics, stats, kpi, kpis, trends"
    ),
    feature=Feature(
        name="Reports and dashboards",
        description="Coordinators see usage and trends on a dashboard and export reports as CSV.",
        priority="should",
    ),
    goal="Give coordinators and funders evidence of how the product is used.",
    pain="nobody can show what actually happened last season without hours of manual counting",
    need="See usage and trends and export a report",
    non_goal="Reporting and dashboards beyond simple lists.",
    question="Who reads the reports, how often, and which figures matter most to them?",
    metric=SuccessMetric(
        name="Time to produce the periodic report",
        target="<= 5 minutes (from hours by hand)",
        measurement="Coordinator survey",
    ),
    risk=Risk(
        description="Heavy reports slow down everyday use.",
        likelihood="medium",
        impact="medium",
        mitigation="Run reports on pre-computed aggregates, on a read replica when volume grows.",
    ),
    nfr=NonFunctionalRequirement(
        area="Reporting",
        requirement="Dashboard load with data refreshed at least hourly",
        target="p95 <= 1.5 s",
        measurement="Frontend timing and API latency histogram",
    ),
    component=Component(
        name="Reporting Service",
        technology="materialised views, CSV export",
        responsibility="Builds aggregates on a schedule and serves dashboards and exports.",
    ),
    epic=EpicSpec(
        name="Reporting",
        goal="Give coordinators dashboards and exportable reports.",
        tasks=(
            "Define the report figures with the people who read them",
            "Build aggregates as materialised views refreshed hourly",
            "Build the dashboard and CSV export",
        ),
        acceptance=(
            "The dashboard loads in <= 1.5 s (p95)",
            "Exported figures match a hand count on test data",
        ),
        out_of_scope=("Ad-hoc query builder",),
        effort_days=6,
    ),
    needs_worker=True,
)

MESSAGING = Trait(
    key="messaging",
    keywords=phrases(
        "chat, chats, message, messages, messaging, comment, comments, forum, forums, discussion, "
        "discussions, conversation, conversations"
    ),
    feature=Feature(
        name="In-app messaging",
        description="Talk to other people in threads attached to the things you coordinate, "
        "instead of scattered group chats.",
        priority="should",
    ),
    goal="Keep conversations next to the things they are about.",
    pain="conversations are spread over several chat apps, detached from the things they are about",
    need="Ask a question about something and find the answer later",
    non_goal="Chat between users; people keep using their existing messengers.",
    question="Are conversations one-to-one, per group, or both, and who moderates them?",
    metric=SuccessMetric(
        name="Questions answered within a day",
        target=">= 80%",
        measurement="Message thread timestamps",
    ),
    risk=Risk(
        description="Abusive messages harm the community.",
        likelihood="medium",
        impact="medium",
        mitigation="Report and block tools, a moderation queue and clear community rules.",
    ),
    nfr=NonFunctionalRequirement(
        area="Messaging",
        requirement="Send a message",
        target="p95 <= 300 ms",
        measurement="API latency histogram",
    ),
    component=Component(
        name="Messaging Service",
        technology="threads per subject",
        responsibility="Stores conversations, enforces who may read them and publishes "
        "new-message events.",
    ),
    entities=(
        Entity(
            name="Message",
            description="A message in a thread.",
            attributes=["id", "thread_id", "author_id", "body", "sent_at"],
        ),
    ),
    epic=EpicSpec(
        name="Messaging",
        goal="Let people talk in threads attached to what they coordinate.",
        tasks=(
            "Model threads and messages with read permissions",
            "Build the thread view and composer",
            "Add report, block and moderation queue",
        ),
        acceptance=(
            "Only participants can read a thread",
            "A reported message is hidden from others until reviewed",
        ),
        out_of_scope=("End-to-end encryption", "Voice and video"),
        effort_days=7,
    ),
)

INTEGRATIONS = Trait(
    key="integrations",
    keywords=phrases(
        "integration, integrations, integrate, integrates, webhook, webhooks, public api, api, "
        "apis, import, imports, export, exports, google calendar, slack, erp, crm, zapier"
    ),
    feature=Feature(
        name="Integrations and public API",
        description="Connect other tools through a documented API, webhooks and CSV import and "
        "export.",
        priority="could",
    ),
    goal="Fit into the tools people already use instead of replacing them all.",
    pain="data is typed twice because the tools people use do not talk to each other",
    need="Move data in and out without retyping it",
    non_goal="A public API or integrations with other tools.",
    question="Which existing tools must the product connect to first?",
    metric=SuccessMetric(
        name="Webhook deliveries succeeding",
        target=">= 99.5%",
        measurement="Integration Gateway delivery log",
    ),
    risk=Risk(
        description="Third-party APIs change or rate-limit us.",
        likelihood="medium",
        impact="medium",
        mitigation="One adapter per provider, contract tests and circuit breakers.",
    ),
    nfr=NonFunctionalRequirement(
        area="Integrations",
        requirement="Webhook delivery",
        target="first attempt <= 30 s; retried for 24 h",
        measurement="Delivery log metrics",
    ),
    component=Component(
        name="Integration Gateway",
        technology="OpenAPI 3.1, signed webhooks",
        responsibility="Publishes the versioned public API, sends signed webhooks and runs "
        "imports and exports.",
    ),
    decision=_decision(
        "Offer a versioned REST API with signed webhooks",
        "Other tools need to read and react to the product's data. Integrations must not "
        "break when the product evolves.",
        (
            (
                "CSV import and export only",
                ("Simple",),
                ("Manual, error-prone", "No automation"),
            ),
            (
                "Versioned REST API with signed webhooks",
                ("Standard, well understood", "Push and pull"),
                ("Versioning discipline needed",),
            ),
            (
                "GraphQL API",
                ("Flexible queries",),
                ("Harder to rate-limit and cache",),
            ),
        ),
        "Publish /v1 of a REST API described in OpenAPI, with HMAC-signed webhooks retried "
        "for 24 hours; breaking changes only in a new major version.",
        (
            ("Integrations are stable", "Self-serve for partners"),
            ("Old versions must be supported for a while",),
            ("Abuse of the public API",),
            ("API calls per key", "Webhook failure rate"),
        ),
    ),
    epic=EpicSpec(
        name="Integrations",
        goal="Let other tools exchange data through a stable API and webhooks.",
        tasks=(
            "Publish the OpenAPI description of /v1",
            "Add API keys with scopes and rate limits",
            "Send signed webhooks with retries",
            "Build CSV import and export",
        ),
        acceptance=(
            "The OpenAPI contract diff shows no breaking change within /v1",
            "A webhook receiver that is down for an hour receives every event afterwards",
        ),
        out_of_scope=("Marketplace of third-party apps",),
        effort_days=8,
    ),
    needs_worker=True,
    resilience="Outbound calls to third-party APIs have timeouts, retries with jitter and a "
    "circuit breaker per provider.",
)

SINGLE_SIGN_ON = Trait(
    key="sso",
    keywords=phrases(
        "sso, saml, single sign on, oidc, active directory, azure ad, entra, ldap, okta, google "
        "workspace"
    ),
    feature=Feature(
        name="Single sign-on",
        description="Sign in with the organisation's existing account; access ends when someone "
        "leaves the organisation.",
        priority="should",
    ),
    goal="Fit the organisation's identity management instead of adding more passwords.",
    pain="every tool has its own password, and leavers keep access for months",
    need="Sign in with their existing work account",
    non_goal="Single sign-on with organisational identity providers.",
    question="Which identity providers must be supported, and are groups mapped to roles?",
    metric=SuccessMetric(
        name="Sign-ins through single sign-on",
        target=">= 90% for organisations that enable it",
        measurement="Authentication logs",
    ),
    risk=Risk(
        description="Misconfigured identity providers lock users out.",
        likelihood="medium",
        impact="medium",
        mitigation="A test-connection step when configuring, and a break-glass admin account.",
    ),
    nfr=NonFunctionalRequirement(
        area="Sign-in",
        requirement="Single sign-on round trip",
        target="p95 <= 2 s (excluding the identity provider)",
        measurement="Authentication latency metric",
    ),
    component=Component(
        name="Identity Federation",
        technology="OIDC and SAML 2.0",
        responsibility="Trusts the organisation's identity provider and maps its groups to roles.",
    ),
    external=Actor(
        name="Organisation identity provider",
        description="Okta, Microsoft Entra ID or Google Workspace, over OIDC or SAML.",
        kind="external_system",
    ),
    epic=EpicSpec(
        name="Single Sign-On",
        goal="Let organisations sign in with their own identity provider.",
        tasks=(
            "Add OIDC sign-in with discovery and JWKS caching",
            "Add SAML 2.0 for providers that need it",
            "Map identity-provider groups to roles",
            "Deprovision users when the provider removes them",
        ),
        acceptance=(
            "A user removed at the identity provider loses access within 15 minutes",
            "A wrong configuration is caught by the test-connection step",
        ),
        out_of_scope=("SCIM provisioning",),
        effort_days=7,
    ),
    security="Sign-in is delegated to the organisation's identity provider; tokens are validated "
    "against its JWKS with audience and expiry checks.",
)

LOCALISATION = Trait(
    key="i18n",
    keywords=phrases(
        "multilingual, languages, translation, translations, translated, localisation, "
        "localization, i18n, several languages, multiple languages, bilingual"
    ),
    feature=Feature(
        name="Multiple languages",
        description="The interface is available in several languages and follows each person's "
        "locale for dates and numbers.",
        priority="should",
    ),
    goal="Serve people in the language they are most comfortable with.",
    pain="people who do not read the main language are left out",
    need="Use the product in their own language",
    non_goal="Translating the interface into other languages.",
    question="Which languages are needed at launch, and who translates new text?",
    metric=SuccessMetric(
        name="Untranslated strings in a release",
        target="0",
        measurement="Translation catalogue check in CI",
    ),
    risk=Risk(
        description="Translations lag behind new features.",
        likelihood="medium",
        impact="low",
        mitigation="A CI check for missing keys and a fallback to the default language.",
    ),
    nfr=NonFunctionalRequirement(
        area="Localisation",
        requirement="Strings available in every supported language at release",
        target="100%",
        measurement="Translation catalogue check in CI",
    ),
    technology=TechnologyChoice(
        layer="Localisation",
        technology="ICU message format (FormatJS or i18next)",
        reason="Handles plurals and genders correctly and is supported by translation tools.",
    ),
)

TRAITS: tuple[Trait, ...] = (
    MOBILE,
    OFFLINE,
    SCHEDULING,
    SHARING,
    MARKETPLACE,
    PAYMENTS,
    REALTIME,
    MESSAGING,
    NOTIFICATIONS,
    SEARCH,
    GEO,
    MEDIA,
    ANALYTICS,
    MACHINE_LEARNING,
    IOT,
    MULTI_TENANT,
    SINGLE_SIGN_ON,
    PRIVACY,
    HEALTH,
    INTEGRATIONS,
    LOCALISATION,
)
