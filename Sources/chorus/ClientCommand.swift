import Foundation
import Peer

/// `chorus get|set|del|getv|putv|status|ring|members ...`: a small RESP client to any peer.
enum ClientCommand {
    static let help = """
    usage: chorus [-h HOST] [-p PORT] [-a PASSWORD] [-n NAMESPACE] <command> [args...]

      get KEY [R ..]                 the value (nil when absent)
      set KEY VALUE [W ..]           store a value
      del KEY [KEY ...]              delete keys; prints how many existed
      getv KEY                       the context (hex) and every sibling
      putv KEY CONTEXT_HEX VALUE     write with the context getv printed ("" for none)
      status                         members, their state, partitions owned, every
                                     handoff in progress, and warnings: disks refusing
                                     writes, clocks beyond --max-clock-offset (asked of
                                     each member)
      ring                           ring version and owners
      leave                          the peer hands off its partitions, then stops
      remove NODE                    drop a node that is gone for good; its partitions are
                                     rebuilt from the surviving replicas
      repair [--partition P]         run anti-entropy on the peer now (all its partitions,
                                     or P), print keys sent and received
    peer address defaults to 127.0.0.1:6380, as redis-cli
    """

    static func run(_ command: String, _ args: [String]) -> Int32 {
        if args.contains("--help") {
            print(help)
            return 0
        }
        let flags: Flags
        do {
            flags = try Flags(args, valued: ["h", "p", "a", "n", "partition"])
        } catch {
            printError("\(error)")
            return 2
        }
        let host = flags.string("h") ?? "127.0.0.1"
        let port: Int
        do { port = try flags.int("p", default: 6380, range: 1...65535) } catch {
            printError("\(error)")
            return 2
        }
        let words = flags.positional
        let arity: [String: ClosedRange<Int>] = ["get": 1...9, "set": 2...10, "del": 1...10_000, "getv": 1...9,
                                                  "putv": 3...11, "status": 0...0, "ring": 0...0,
                                                  "leave": 0...0, "remove": 1...1, "repair": 0...0]
        guard let range = arity[command], range.contains(words.count) else {
            printError("\(command): wrong number of arguments; see chorus \(command) --help")
            return 2
        }
        do {
            // A repair compares every tree the peer holds before it answers: give it an hour.
            let client = try RESPClient(host: host, port: UInt16(port), timeoutMs: command == "repair" ? 3_600_000 : 10_000)
            defer { client.close() }
            if let password = flags.string("a") { _ = try client.command("AUTH", password) }
            if let ns = flags.string("n") { _ = try client.command("NS.USE", ns) }
            switch command {
            case "status":
                let members = try client.command("MEMBERS")
                let code = printStatus(members, ring: try client.command("RING"))
                printTransfers(members, password: flags.string("a"))
                StatusWarnings.print(members, password: flags.string("a"))
                return code
            case "repair":
                var argv = [Array("REPAIR".utf8)]
                if let p = flags.string("partition") { argv.append(Array(p.utf8)) }
                let reply = try client.command(argv)
                return printReply(reply)
            case "ring":
                return printReply(try client.command("RING"))
            case "putv":
                guard let context = hexDecode(words[1]) else {
                    printError("putv: CONTEXT must be hex as getv prints it")
                    return 2
                }
                let argv: [[UInt8]] = [Array("PUTV".utf8), Array(words[0].utf8), context] + words[2...].map { Array($0.utf8) }
                return printReply(try client.command(argv))
            case "getv":
                let reply = try client.command([Array("GETV".utf8)] + words.map { Array($0.utf8) })
                if case .array(let items) = reply, case .bulk(let context)? = items.first {
                    print("context \(context.map { String(format: "%02x", $0) }.joined())")
                    for (i, v) in items.dropFirst().enumerated() { print("sibling \(i + 1): \(v.text ?? "")") }
                    return 0
                }
                return printReply(reply)
            default:
                let argv = [Array(command.uppercased().utf8)] + words.map { Array($0.utf8) }
                return printReply(try client.command(argv))
            }
        } catch {
            printError("cannot reach \(host):\(port): \(error)")
            return 1
        }
    }

    static func hexDecode(_ s: String) -> [UInt8]? {
        guard s.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let byte = UInt8(String([a, b]), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }

    static func printReply(_ reply: RESPValue, indent: String = "") -> Int32 {
        switch reply {
        case .simple(let s): print(indent + s)
        case .error(let e):
            print(indent + "(error) " + e)
            return 1
        case .integer(let i): print(indent + "(integer) \(i)")
        case .bulk(let b): print(indent + String(decoding: b, as: UTF8.self))
        case .nullBulk, .nullArray, .null: print(indent + "(nil)")
        case .double(let d): print(indent + "(double) \(d)")
        case .boolean(let b): print(indent + "(boolean) \(b)")
        case .bigNumber(let digits): print(indent + "(big number) " + String(decoding: digits, as: UTF8.self))
        case .verbatim(_, let text): print(indent + String(decoding: text, as: UTF8.self))
        case .map(let pairs):
            return printReply(.array(pairs.flatMap { [$0.key, $0.value] }), indent: indent)
        case .set(let items), .push(let items):
            return printReply(.array(items), indent: indent)
        case .array(let items):
            for (i, item) in items.enumerated() {
                if case .array = item {
                    print(indent + "\(i + 1))")
                    _ = printReply(item, indent: indent + "   ")
                } else {
                    _ = printReply(item, indent: indent + "\(i + 1)) ")
                }
            }
        }
        return 0
    }

    /// Asks every live member for its incoming transfers and prints them in one table.
    static func printTransfers(_ members: RESPValue, password: String?) {
        guard case .array = members else { return }
        var rows: [[String]] = []
        let unreachable = LiveMembers.ask(members, password: password) { _, c in
            guard case .array(let transfers) = try c.command("HANDOFFS") else { return }
            for case .array(let fields) in transfers {
                var f: [String: String] = [:]
                for field in fields {
                    let text = field.text ?? ""
                    if let eq = text.firstIndex(of: "=") { f[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
                }
                rows.append(["partition", "namespace", "from", "to", "keys", "bytes", "rate_bytes_per_sec", "eta_seconds", "state", "last_error"]
                    .map { f[$0] ?? "" })
            }
        }
        // Finished transfers are counted, not listed: after a join the list is long.
        let active = rows.filter { $0[8] != "done" }
        print("handoffs: \(rows.count) transfers, \(active.count) not done")
        if !active.isEmpty {
            let header = ["partition", "namespace", "from", "to", "keys", "bytes", "rate B/s", "eta s", "state", "last error"]
            let widths = [9, 10, 22, 22, 9, 11, 10, 7, 8, 0]
            func line(_ cells: [String]) -> String {
                zip(cells, widths).map { $1 == 0 ? $0 : $0.padding(toLength: max($1, $0.count + 1), withPad: " ", startingAt: 0) }.joined()
            }
            print(line(header))
            for r in active { print(line(r)) }
        }
        if !unreachable.isEmpty { print("not reachable for handoff status: \(unreachable.joined(separator: ", "))") }
    }

    static func printStatus(_ members: RESPValue, ring: RESPValue) -> Int32 {
        var owners: [String: Int] = [:]
        var version: Int64 = 0
        if case .array(let r) = ring, r.count == 3, case .integer(let v) = r[0], case .array(let o) = r[2] {
            version = v
            for case .bulk(let b) in o { owners[String(decoding: b, as: UTF8.self), default: 0] += 1 }
        }
        print("ring version \(version)")
        print("node".padding(toLength: 24, withPad: " ", startingAt: 0) + "client".padding(toLength: 20, withPad: " ", startingAt: 0)
              + "state    admin    partitions")
        guard case .array(let list) = members else { return printReply(members) }
        for case .array(let m) in list where m.count >= 6 {
            let id = m[0].text ?? "", client = m[1].text ?? "", state = m[3].text ?? "", admin = m[5].text ?? ""
            print(id.padding(toLength: 24, withPad: " ", startingAt: 0) + client.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + state.padding(toLength: 9, withPad: " ", startingAt: 0) + admin.padding(toLength: 9, withPad: " ", startingAt: 0)
                  + String(owners[id] ?? 0))
        }
        return 0
    }
}
