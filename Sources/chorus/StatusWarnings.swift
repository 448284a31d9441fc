import Peer

/// The warnings block of `chorus status`, under the member table: every live member's own
/// `INFO warnings` (disk refusing writes, its clock or a member's beyond --max-clock-offset,
/// members down, stalled handoffs), each line once, with the members that report it.
enum StatusWarnings {
    /// Prints the block; returns the number of distinct warnings.
    @discardableResult
    static func print(_ members: RESPValue, password: String?) -> Int {
        guard case .array = members else { return 0 }
        var reporters: [String: [String]] = [:]
        var order: [String] = []
        let unreachable = LiveMembers.ask(members, password: password) { id, c in
            for line in (try c.command("INFO", "warnings").text ?? "").split(whereSeparator: \.isNewline) {
                guard line.hasPrefix("warning_"), let colon = line.firstIndex(of: ":") else { continue }
                let text = String(line[line.index(after: colon)...])
                if reporters[text] == nil { order.append(text) }
                reporters[text, default: []].append(id)
            }
        }
        // Disk and clock first: they are what a member table cannot show.
        let sorted = order.filter { $0.hasPrefix("disk:") } + order.filter { $0.hasPrefix("clock:") }
            + order.filter { !$0.hasPrefix("disk:") && !$0.hasPrefix("clock:") }
        Swift.print(sorted.isEmpty ? "warnings: none" : "warnings: \(sorted.count)")
        for text in sorted {
            let who = reporters[text] ?? []
            Swift.print("  \(text)" + (who.count > 1 || !text.contains(who.first ?? "\u{0}") ? "  (reported by \(who.joined(separator: ", ")))" : ""))
        }
        if !unreachable.isEmpty { Swift.print("not reachable for warnings: \(unreachable.joined(separator: ", "))") }
        return sorted.count
    }
}
