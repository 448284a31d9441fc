import Gossip
import Ring
import Storage

/// The RESP command table of a peer: parses each client command, runs it through the
/// `NodeEngine` (off the loop thread when it touches disk or peers) and writes the reply.
/// SPEC section 5 is the contract for every reply and error text here.
public final class ClientCommands: RESPCommandHandler, @unchecked Sendable {
    let engine: NodeEngine
    let requirePass: [UInt8]?
    /// Publishes a changed namespace table to the cluster (gossip) and persists it.
    let publishNamespaces: @Sendable (NamespaceTable) -> Void
    /// Redis-style INFO sections for this node.
    let info: @Sendable () -> [(section: String, fields: [(String, String)])]
    /// LEAVE and REMOVE (nil when there is no gossip node, as in unit tests).
    let admin: (@Sendable (AdminCommand) -> Result<String, ClientError>)?
    /// Times every command from dispatch to reply (set once, before the server starts).
    public var metrics: CommandMetrics?

    public init(engine: NodeEngine, requirePass: String?,
                publishNamespaces: @escaping @Sendable (NamespaceTable) -> Void,
                info: @escaping @Sendable () -> [(section: String, fields: [(String, String)])],
                admin: (@Sendable (AdminCommand) -> Result<String, ClientError>)? = nil) {
        self.engine = engine
        self.admin = admin
        self.requirePass = requirePass.map { Array($0.utf8) }
        self.publishNamespaces = publishNamespaces
        self.info = info
    }

    static func upper(_ word: [UInt8]) -> String {
        String(decoding: RESPCommandName.uppercased(word), as: UTF8.self)
    }

    public func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply: RESPReplyToken) {
        guard let first = command.first else { return reply.reply(.error("ERR empty command")) }
        let name = ClientCommands.upper(first)
        var reply = reply
        reply.meter = metrics?.start(name, context: context)
        let args = command.dropFirst()
        if requirePass != nil, !context.authenticated, name != "AUTH", name != "QUIT", name != "HELLO" {
            return reply.reply(.error("NOAUTH Authentication required. Send AUTH with the password first"))
        }
        switch name {
        case "PING":
            if args.count > 1 { return reply.reply(wrongArity(name)) }
            reply.reply(args.first.map { .bulk($0) } ?? .simple("PONG"))
        case "ECHO":
            guard args.count == 1, let a = args.first else { return reply.reply(wrongArity(name)) }
            reply.reply(.bulk(a))
        case "QUIT":
            reply.reply(.ok, thenClose: true)
        case "AUTH":
            auth(args, context: context, reply: reply)
        case "COMMAND":
            // Enough for redis-cli: it asks COMMAND DOCS at start and tolerates an empty answer.
            reply.reply(.array([]))
        case "SELECT":
            reply.reply(args.first == Array("0".utf8) ? .ok : .error("ERR Chorus has one database per namespace; use NS.USE"))
        case "CLIENT", "CONFIG", "HELLO":
            reply.reply(name == "HELLO" ? .error("NOPROTO Chorus speaks RESP2 only") : .ok)
        case "INFO":
            reply.reply(.bulk(renderInfo()))
        case "SET", "GET", "DEL", "EXISTS", "MGET", "MSET", "GETV", "PUTV", "DELV":
            data(name, args, context: context, reply: reply)
        case "NS.CREATE", "NS.USE", "NS.LIST", "NS.INFO":
            namespaceCommand(name, args, context: context, reply: reply)
        case "WHEREIS", "RING", "MEMBERS":
            clusterCommand(name, args, context: context, reply: reply)
        case "LEAVE", "REMOVE", "REPAIR", "HANDOFFS":
            operatorCommand(name, args, reply: reply)
        case "SCAN", "KEYS":
            scanCommand(name, args, context: context, reply: reply)
        default:
            reply.reply(.error("ERR unknown command '\(String(decoding: first.prefix(64), as: UTF8.self))'"))
        }
    }

    func wrongArity(_ name: String) -> RESPValue {
        .error("ERR wrong number of arguments for '\(name.lowercased())' command")
    }

    private func auth(_ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        guard let password = args.last, args.count == 1 || args.count == 2 else { return reply.reply(wrongArity("AUTH")) }
        guard let requirePass else {
            return reply.reply(.error("ERR AUTH called without any password configured for the default user"))
        }
        if HMACSHA256.constantTimeEqual(password, requirePass) {
            context.authenticated = true
            reply.reply(.ok)
        } else {
            reply.reply(.error("WRONGPASS invalid username-password pair or user is disabled."))
        }
    }

    func renderInfo() -> [UInt8] {
        var text = ""
        for (section, fields) in info() {
            text += "# \(section)\r\n"
            for (k, v) in fields { text += "\(k):\(v)\r\n" }
            text += "\r\n"
        }
        return Array(text.utf8)
    }
}
