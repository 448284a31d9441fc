import Synchronization

/// One metric that lives in a family: a counter, a gauge or a histogram. Its hot-path
/// operations are lock-free; `render` writes its sample lines at scrape time.
public protocol MetricChild: AnyObject, Sendable {
    /// Appends this child's sample lines; `labels` is its `k="v",...` text, possibly empty.
    func render(name: String, labels: String, into out: inout MetricsBuffer)
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
    /// Label values -> the child; and every child with its rendered `k="v",...` text, kept
    /// sorted by label values as children are created, so a scrape neither sorts nor formats.
    private struct Children {
        var byValues: [[String]: Child] = [:]
        var ordered: [(values: [String], child: Child, text: String)] = []
    }
    private let children = Mutex(Children())
    /// `# HELP` and `# TYPE` lines, rendered once.
    private let headerBytes: [UInt8]

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
        var header = ""
        MetricsText.header(name: name, help: help, kind: kind, into: &header)
        headerBytes = Array(header.utf8)
    }

    /// The child for these label values (in the order of `labelNames`), created on first use.
    public func labels(_ values: String...) -> Child { labels(values) }

    public func labels(_ values: [String]) -> Child {
        precondition(values.count == labelNames.count, "\(name) takes \(labelNames.count) label values, got \(values.count)")
        return children.withLock { c in
            if let existing = c.byValues[values] { return existing }
            let child = make()
            c.byValues[values] = child
            let at = c.ordered.firstIndex { values.lexicographicallyPrecedes($0.values) } ?? c.ordered.count
            c.ordered.insert((values, child, MetricsText.labelPairs(labelNames, values)), at: at)
            return child
        }
    }

    /// The child of a family without labels.
    public var unlabeled: Child { labels([]) }

    /// Label values of every child created so far.
    public var labelSets: [[String]] { children.withLock { $0.ordered.map(\.values) } }

    func render(into out: inout MetricsBuffer) {
        let snapshot = children.withLock { $0.ordered }
        out.append(headerBytes)
        for entry in snapshot where !(omitUnused && entry.child.isUnused) {
            entry.child.render(name: name, labels: entry.text, into: &out)
        }
    }
}
