#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Peer

/// `chorus top`: live per-peer rates in the terminal, from every live member's INFO (the
/// counters /metrics exports too), redrawn each interval.
enum TopCommand {
    static let help = """
    usage: chorus top [-h HOST[:PORT]] [-p PORT] [-a PASSWORD] [--interval SECONDS] [--count N]

      every interval, for each live member: reads/s, writes/s, failed/s, forwarded writes/s,
      replica writes served/s, hints pending, connected clients, writes ok|err, and its
      warnings count. Rates are differences of INFO's counters between two polls.
      --interval SECONDS   between polls (default 1, 0.1..3600)
      --count N            polls, then exit (default: until interrupted)
    """

    /// The INFO counters shown as rates, and their column titles.
    static let rates: [(field: String, title: String)] = [
        ("Stats.reads", "reads/s"), ("Stats.writes", "writes/s"), ("Stats.failed_requests", "failed/s"),
        ("Stats.forwarded_writes", "fwd/s"), ("Stats.replica_writes_served", "repl/s"),
    ]

    static func run(_ args: [String]) -> Int32 {
        if args.contains("--help") {
            print(help)
            return 0
        }
        let flags: Flags
        do { flags = try Flags(args, valued: ["h", "p", "a", "interval", "count"]) } catch {
            printError("\(error)")
            return 2
        }
        var host = flags.string("h") ?? "127.0.0.1"
        var port: Int
        let count: Int
        do {
            port = try flags.int("p", default: 6380, range: 1...65535)
            count = try flags.int("count", default: Int.max, range: 1...Int.max)
        } catch {
            printError("\(error)")
            return 2
        }
        if let colon = host.lastIndex(of: ":"), let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) {
            port = p
            host = String(host[..<colon])
        }
        guard let interval = Double(flags.string("interval") ?? "1"), interval >= 0.1, interval <= 3600 else {
            printError("top: --interval must be seconds from 0.1 to 3600")
            return 2
        }
        let password = flags.string("a")
        let tty = isatty(1) == 1
        var previous: [String: (at: Double, values: [String: Double])] = [:]
        for round in 0..<count {
            if round > 0 { usleep(UInt32(interval * 1_000_000)) }
            let members: [(id: String, host: String, port: UInt16)]
            do { members = try liveMembers(host: host, port: port, password: password) } catch {
                printError("cannot reach \(host):\(port): \(error)")
                return 1
            }
            var lines = [pad("node", 24) + rates.map { pad($0.title, 10) }.joined() + pad("hints", 8) + pad("clients", 8) + pad("disk", 6) + "warnings"]
            for m in members {
                guard let info = try? info(m.host, m.port, password: password) else {
                    lines.append(pad(m.id, 24) + "not reachable")
                    continue
                }
                let now = Date().timeIntervalSince1970
                var values: [String: Double] = [:]
                for r in rates { values[r.field] = Double(info[r.field] ?? "") ?? 0 }
                let cells = rates.map { r -> String in
                    guard let p = previous[m.id], now > p.at else { return pad("-", 10) }
                    let rate = max(0, ((values[r.field] ?? 0) - (p.values[r.field] ?? 0)) / (now - p.at))
                    return pad(String(format: "%.0f", rate), 10)
                }
                previous[m.id] = (now, values)
                let warnings = info.keys.filter { $0.hasPrefix("warning_") }.count
                lines.append(pad(m.id, 24) + cells.joined() + pad(info["hints_pending"] ?? "?", 8) + pad(info["connected_clients"] ?? "?", 8)
                             + pad(info["write_status"] ?? "?", 6) + String(warnings))
            }
            if tty { print("\u{1b}[H\u{1b}[2J", terminator: "") }
            print(lines.joined(separator: "\n"))
            if !tty { print("") }
            fflush(stdout)
        }
        return 0
    }

    static func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count + 1), withPad: " ", startingAt: 0) }

    /// Alive and suspect members with their client addresses, from the peer's MEMBERS.
    static func liveMembers(host: String, port: Int, password: String?) throws -> [(id: String, host: String, port: UInt16)] {
        let c = try RESPClient(host: host, port: UInt16(port), timeoutMs: 3_000)
        defer { c.close() }
        if let password { _ = try c.command("AUTH", password) }
        guard case .array(let list) = try c.command("MEMBERS") else { return [] }
        var out: [(String, String, UInt16)] = []
        for case .array(let m) in list where m.count >= 6 {
            let state = m[3].text ?? ""
            let parts = (m[1].text ?? "").split(separator: ":")
            guard state == "alive" || state == "suspect", parts.count == 2, let p = UInt16(parts[1]) else { continue }
            out.append((m[0].text ?? "", String(parts[0]), p))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// A member's INFO fields: `name` (the first section's, when two sections share it) and
    /// `Section.name` -> value.
    static func info(_ host: String, _ port: UInt16, password: String?) throws -> [String: String] {
        let c = try RESPClient(host: host, port: port, timeoutMs: 3_000)
        defer { c.close() }
        if let password { _ = try c.command("AUTH", password) }
        var out: [String: String] = [:]
        var section = ""
        for line in (try c.command("INFO").text ?? "").split(whereSeparator: \.isNewline) {
            if line.hasPrefix("# ") {
                section = String(line.dropFirst(2))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon]), value = String(line[line.index(after: colon)...])
            if out[key] == nil { out[key] = value }
            out[section + "." + key] = value
        }
        return out
    }
}
