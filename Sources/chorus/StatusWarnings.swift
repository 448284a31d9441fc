import Peer

/// The warnings block of `chorus status`, under the member table: every live member's own
/// `INFO warnings` (disk refusing writes, its clock or a member's beyond --max-clock-offset,
/// members down, stalled handoffs), each line once, with the members that report it.
enum StatusWarnings {
    /// Prints the block; returns the number of distinct warnings.
    @discardableResult
    static func print(_ members: RESPValue, password: String?) -> Int {
        guard case .array(let list) = members else { return 0 }
        var reporters: [String: [String]] = [:]
        var order: [String] = []
        var unreachable: [String] = []
        for case .array(let m) in list where m.count >= 6 {
            let id = m[0].text ?? "", client = m[1].text ?? "", state = m[3].text ?? ""
            guard state == "alive" || state == "suspect" else { continue }
            let parts = client.split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1]) else { continue }
            do {
                let c = try RESPClient(host: String(parts[0]), port: port, timeoutMs: 3_000)
                defer { c.close() }
                if let password { _ = try c.command("AUTH", password) }
                for line in (try c.command("INFO", "warnings").text ?? "").split(whereSeparator: \.isNewline) {
                    guard line.hasPrefix("warning_"), let colon = line.firstIndex(of: ":") else { continue }
                    let text = String(line[line.index(after: colon)...])
                    if reporters[text] == nil { order.append(text) }
                    reporters[text, default: []].append(id)
                }
            } catch {
                unreachable.append(id)
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
