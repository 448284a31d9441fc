// Connection setup as Redis 7 answers it (SPEC section 5): HELLO, AUTH, CLIENT, SELECT.
//
//   HELLO [protover [AUTH user pass] [SETNAME name]]   the server map; switches RESP2/RESP3
//   CLIENT ID | GETNAME | SETNAME name | SETINFO LIB-NAME|LIB-VER value | INFO
//        | LIST [TYPE normal|master|replica|pubsub] [ID id ...]
//   SELECT 0                                           other indexes: ERR DB index is out of range
//
// Texts are Redis's own (checked against redis-server 7.0 and 7.2's networking.c). The one
// user is `default`, whose password is `--requirepass` (without one, any password is
// accepted for `default`, as Redis's passwordless default user does).

import Net
import Gossip

extension ClientCommands {
    func hello(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        var version: RESPProtocolVersion?
        var i = args.startIndex
        if let first = args.first {
            guard let n = RedisInteger.parse(first) else {
                return reply.reply(.error("ERR Protocol version is not an integer or out of range"))
            }
            guard n == 2 || n == 3, let v = RESPProtocolVersion(rawValue: UInt8(n)) else {
                return reply.reply(.error("NOPROTO unsupported protocol version"))
            }
            version = v
            i += 1
        }
        var credentials: (user: [UInt8], password: [UInt8])?
        var clientName: [UInt8]?
        while i < args.endIndex {
            let option = ClientCommands.upper(args[i])
            let more = args.endIndex - i - 1
            if option == "AUTH" && more >= 2 {
                credentials = (args[i + 1], args[i + 2])
                i += 3
            } else if option == "SETNAME" && more >= 1 {
                clientName = args[i + 1]
                i += 2
            } else {
                return reply.reply(.error("ERR Syntax error in HELLO option '\(String(decoding: args[i].prefix(64), as: UTF8.self))'"))
            }
        }
        if let credentials {
            if let error = checkCredentials(user: credentials.user, password: credentials.password) { return reply.reply(.error(error)) }
            context.authenticated = true
        }
        if requirePass != nil && !context.authenticated {
            return reply.reply(.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                + "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
                + "protocol version at the same time"))
        }
        if let clientName {
            if let error = ClientCommands.attributeError(clientName, what: "Client names") { return reply.reply(.error(error)) }
            context.withState { $0.name = String(decoding: clientName, as: UTF8.self) }
        }
        if let version { context.protocolVersion = version }
        var answer = reply
        answer.protocolVersion = context.protocolVersion
        answer.reply(.map([
            "server": .bulk("chorus"), "version": .bulk(ClientSettings.redisVersion),
            "proto": .integer(Int64(context.protocolVersion.rawValue)), "id": .integer(Int64(context.id)),
            "mode": .bulk("standalone"), "role": .bulk("master"), "modules": .array([]),
        ]))
    }

    func auth(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        guard let password = args.last, args.count == 1 || args.count == 2 else { return reply.reply(wrongArity("AUTH")) }
        guard requirePass != nil else {
            if args.count == 2 { return reply.reply(checkCredentials(user: args[args.startIndex], password: password).map { .error($0) } ?? .ok) }
            return reply.reply(.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
        }
        let user = args.count == 2 ? args[args.startIndex] : Array("default".utf8)
        if let error = checkCredentials(user: user, password: password) { return reply.reply(.error(error)) }
        context.authenticated = true
        reply.reply(.ok)
    }

    /// nil when `user`/`password` log in as the default user; else Redis's WRONGPASS text.
    func checkCredentials(user: [UInt8], password: [UInt8]) -> String? {
        let wrong = "WRONGPASS invalid username-password pair or user is disabled."
        guard user == Array("default".utf8) else { return wrong }
        guard let requirePass else { return nil }
        return HMACSHA256.constantTimeEqual(password, requirePass) ? nil : wrong
    }

    /// Redis's rule for client names and library attributes: printable ASCII without spaces.
    static func attributeError(_ value: [UInt8], what: String) -> String? {
        value.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) ? nil : "ERR \(what) cannot contain spaces, newlines or special characters."
    }

    func select(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        guard args.count == 1, let index = args.first else { return reply.reply(wrongArity("SELECT")) }
        guard let n = RedisInteger.parse(index) else { return reply.reply(.error("ERR value is not an integer or out of range")) }
        reply.reply(n == 0 ? .ok : .error("ERR DB index is out of range (Chorus has database 0 only; use NS.USE name for another namespace)"))
    }

    func client(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        guard let sub = args.first else { return reply.reply(wrongArity("CLIENT")) }
        let name = ClientCommands.upper(sub)
        let rest = args.dropFirst()
        func arity(_ n: Int) -> Bool {
            if rest.count == n { return true }
            reply.reply(.error("ERR wrong number of arguments for 'client|\(name.lowercased())' command"))
            return false
        }
        switch name {
        case "ID":
            guard arity(0) else { return }
            reply.reply(.integer(Int64(context.id)))
        case "GETNAME":
            guard arity(0) else { return }
            let current = context.withState { $0.name }
            reply.reply(current.isEmpty ? .nullBulk : .bulk(current))
        case "SETNAME":
            guard arity(1), let value = rest.first else { return }
            if let error = ClientCommands.attributeError(value, what: "Client names") { return reply.reply(.error(error)) }
            context.withState { $0.name = String(decoding: value, as: UTF8.self) }
            reply.reply(.ok)
        case "SETINFO":
            guard arity(2) else { return }
            let attribute = rest[rest.startIndex], value = rest[rest.startIndex + 1]
            let which = ClientCommands.upper(attribute)
            let shown = String(decoding: attribute.prefix(64), as: UTF8.self)
            guard which == "LIB-NAME" || which == "LIB-VER" else { return reply.reply(.error("ERR Unrecognized option '\(shown)'")) }
            if let error = ClientCommands.attributeError(value, what: shown) { return reply.reply(.error(error)) }
            let text = String(decoding: value, as: UTF8.self)
            context.withState { if which == "LIB-NAME" { $0.libName = text } else { $0.libVersion = text } }
            reply.reply(.ok)
        case "INFO":
            guard arity(0) else { return }
            reply.reply(.verbatim(format: "txt", text: Array((clientLine(context) + "\n").utf8)))
        case "LIST":
            clientList(rest, reply: reply)
        default:
            reply.reply(.error("ERR unknown subcommand '\(String(decoding: sub.prefix(64), as: UTF8.self))'. Try CLIENT HELP."))
        }
    }

    /// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]: every connection is `normal`.
    private func clientList(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        var contexts = clients.all()
        var i = args.startIndex
        while i < args.endIndex {
            let word = ClientCommands.upper(args[i])
            if word == "TYPE", i + 1 < args.endIndex {
                let type = String(decoding: args[i + 1], as: UTF8.self).lowercased()
                switch type {
                case "normal": break
                case "master", "replica", "slave", "pubsub": contexts = []
                default: return reply.reply(.error("ERR Unknown client type '\(type.prefix(64))'"))
                }
                i += 2
            } else if word == "ID", i + 1 < args.endIndex {
                var ids = Set<UInt64>()
                i += 1
                while i < args.endIndex {
                    guard let n = RedisInteger.parse(args[i]), n > 0 else { return reply.reply(.error("ERR Invalid client ID")) }
                    ids.insert(UInt64(n))
                    i += 1
                }
                contexts = contexts.filter { ids.contains($0.id) }
            } else {
                return reply.reply(.error("ERR syntax error"))
            }
        }
        let text = contexts.map { clientLine($0) + "\n" }.joined()
        reply.reply(.verbatim(format: "txt", text: Array(text.utf8)))
    }

    /// One CLIENT LIST line: Redis's fields that mean something here, in Redis's order.
    func clientLine(_ context: RESPConnectionContext) -> String {
        let now = EventLoop.nowMs()
        let s = context.withState { $0 }
        let age = max(0, now - context.createdMs) / 1000
        let idle = max(0, now - (s.lastCommandMs == 0 ? context.createdMs : s.lastCommandMs)) / 1000
        return "id=\(context.id) addr=\(context.remoteAddress) laddr=\(settings.localAddress) name=\(s.name) age=\(age) "
            + "idle=\(idle) flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 cmd=\(s.lastCommand.isEmpty ? "NULL" : s.lastCommand.lowercased()) user=default redir=-1 "
            + "resp=\(context.protocolVersion.rawValue) lib-name=\(s.libName) lib-ver=\(s.libVersion) ns=\(s.namespace)"
    }
}
