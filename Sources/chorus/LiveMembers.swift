import Peer

/// Runs a question against every live member of a MEMBERS reply (alive or suspect), over
/// its client address, authenticated when a password is given.
enum LiveMembers {
    /// Calls `ask` with each live member's id and a connection to it; returns the ids of the
    /// members that could not be reached or whose `ask` failed.
    static func ask(_ members: RESPValue, password: String?, _ ask: (String, RESPClient) throws -> Void) -> [String] {
        guard case .array(let list) = members else { return [] }
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
                try ask(id, c)
            } catch {
                unreachable.append(id)
            }
        }
        return unreachable
    }
}
