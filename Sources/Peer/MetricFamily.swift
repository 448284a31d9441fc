import Synchronization

/// One metric that lives in a family: a counter, a gauge or a histogram. Its hot-path
/// operations are lock-free; `render` writes its sample lines at scrape time.
public protocol MetricChild: AnyObject, Sendable {
    /// Appends this child's sample lines; `labels` is its `k="v",...` text, possibly empty.
    func render(name: String, labels: String, into out: inout String)
    /// True while nothing was ever recorded (a counter at 0, a histogram without observations).
    var isUnused: Bool { get }
}

/// A named family of metrics of one kind, one child per set of label values.
///
/// `labels(...)` finds or creates a child under the family's lock: call it once per label
/// set (at start-up, or when a new peer appears) and keep the child; the child's own
/// operations are what the hot path uses. Children live as long as the family.
public final class MetricFamily<Child: MetricChild>: MetricsRenderable, @unchecked Sendable {
    public let name: String
    let help: String
    let kind: MetricKind
    public let labelNames: [String]
    private let make: @Sendable () -> Child
    /// Children never used are left out of the exposition (for tables created up front).
    let omitUnused: Bool
    /// Label values -> the child and its rendered `k="v",...` text.
    private let children = Mutex<[[String]: (child: Child, text: String)]>([:])

    init(name: String, help: String, kind: MetricKind, labelNames: [String], omitUnused: Bool = false,
         make: @escaping @Sendable () -> Child) {
        for l in labelNames {
            precondition(MetricsText.isValidLabelName(l) && (kind != .histogram || l != "le"), "bad label name \(l) in \(name)")
        }
        self.name = name
        self.help = help
        self.kind = kind
        self.labelNames = labelNames
        self.make = make
        self.omitUnused = omitUnused
    }

    /// The child for these label values (in the order of `labelNames`), created on first use.
    public func labels(_ values: String...) -> Child { labels(values) }

    public func labels(_ values: [String]) -> Child {
        precondition(values.count == labelNames.count, "\(name) takes \(labelNames.count) label values, got \(values.count)")
        return children.withLock { map in
            if let existing = map[values] { return existing.child }
            let child = make()
            map[values] = (child, MetricsText.labelPairs(labelNames, values))
            return child
        }
    }

    /// The child of a family without labels.
    public var unlabeled: Child { labels([]) }

    /// Label values of every child created so far.
    public var labelSets: [[String]] { children.withLock { Array($0.keys) } }

    func render(into out: inout String) {
        let snapshot = children.withLock { map in map.sorted { $0.key.lexicographicallyPrecedes($1.key) } }
        MetricsText.header(name: name, help: help, kind: kind, into: &out)
        for (_, entry) in snapshot where !(omitUnused && entry.child.isUnused) {
            entry.child.render(name: name, labels: entry.text, into: &out)
        }
    }
}
