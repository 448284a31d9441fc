import Net
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
    /// What HELLO, CONFIG GET and CLIENT LIST report about this peer.
    let settings: ClientSettings
    /// Open connections, for CLIENT LIST.
    let clients = ClientRegistry()

    /// The refusal of MULTI, EXEC, WATCH and DISCARD: SPEC section 5's exact words.
    static let transactionRefusal = "ERR transactions (MULTI/EXEC) are not supported: keys live on different replica sets; "
        + "send the commands as a plain pipeline (redis-py: pipeline(transaction=False))"
    /// Times every command from dispatch to reply (set once, before the server starts).
    public var metrics: CommandMetrics?

    public init(engine: NodeEngine, requirePass: String?,
                publishNamespaces: @escaping @Sendable (NamespaceTable) -> Void,
                info: @escaping @Sendable () -> [(section: String, fields: [(String, String)])],
                admin: (@Sendable (AdminCommand) -> Result<String, ClientError>)? = nil,
                settings: ClientSettings = ClientSettings()) {
        self.engine = engine
        self.admin = admin
        self.requirePass = requirePass.map { Array($0.utf8) }
        self.publishNamespaces = publishNamespaces
        self.info = info
        self.settings = settings
    }

    static func upper(_ word: [UInt8]) -> String {
        String(decoding: RESPCommandName.uppercased(word), as: UTF8.self)
    }

    public func connectionOpened(_ context: RESPConnectionContext) { clients.add(context) }
    public func connectionClosed(_ context: RESPConnectionContext) { clients.remove(context) }

    public func handle(_ command: [[UInt8]], context: RESPConnectionContext, reply token: RESPReplyToken) {
        // Replies go out in the protocol the connection spoke when the command arrived.
        var reply = token
        reply.protocolVersion = context.protocolVersion
        guard let first = command.first else { return reply.reply(.error("ERR empty command")) }
        let name = ClientCommands.upper(first)
        reply.meter = metrics?.start(name, context: context)
        let args = command.dropFirst()
        let authenticated = context.withState { state -> Bool in
            state.lastCommand = name  // lowercased only when CLIENT LIST shows it
            state.lastCommandMs = EventLoop.nowMs()
            return state.authenticated
        }
        if requirePass != nil, !authenticated, name != "AUTH", name != "QUIT", name != "HELLO" {
            return reply.reply(.error("NOAUTH Authentication required. Send AUTH with the password first"))
        }
        guard let access = ClientCommands.keyAccess(name, args) else { return dispatch(name, first, args, context: context, reply: reply) }
        // Pipelined commands on the same keys run in order, as in Redis (KeyOrder.swift).
        let scheduler = engine.scheduler
        context.keyOrder.run(access, later: { start in scheduler.async(start) }) { [self] done in
            var ordered = reply
            ordered.onReply = done
            dispatch(name, first, args, context: context, reply: ordered)
        }
    }

    /// The keys a command touches, for KeyOrder; nil for a command that touches none. Every
    /// argument of a variadic command counts, option words included: an extra key only
    /// orders two commands that need not be.
    static func keyAccess(_ name: String, _ args: ArraySlice<[UInt8]>) -> KeyOrder.Access? {
        guard let first = args.first else { return nil }
        switch name {
        case "GET", "GETV", "STRLEN", "GETRANGE", "TYPE": return .read([first])
        case "MGET", "EXISTS", "TOUCH": return .read(Array(args))
        case "SET", "PUTV", "DELV", "INCR", "DECR", "INCRBY", "DECRBY": return .write([first])
        case "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME": return .read([first])
        case "MSETNX": return .write(stride(from: args.startIndex, to: args.endIndex, by: 2).map { args[$0] })
        case _ where isTransformCommand(name): return .write([first])
        case "DEL", "UNLINK": return .write(Array(args))
        case "MSET": return .write(stride(from: args.startIndex, to: args.endIndex, by: 2).map { args[$0] })
        default: return nil
        }
    }

    private func dispatch(_ name: String, _ first: [UInt8], _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        if name == "SCAN" || name == "KEYS" || name == "DBSIZE" {
            // Whole-namespace reads see the connection's earlier writes.
            let scheduler = engine.scheduler
            return context.keyOrder.run(.readAll, later: { start in scheduler.async(start) }) { [self] done in
                var ordered = reply
                ordered.onReply = done
                name == "DBSIZE" ? stringCommand(name, args, context: context, reply: ordered)
                    : scanCommand(name, args, context: context, reply: ordered)
            }
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
        case "HELLO":
            hello(args, context: context, reply: reply)
        case "CLIENT":
            client(args, context: context, reply: reply)
        case "SELECT":
            select(args, reply: reply)
        case "COMMAND":
            commandCommand(args, reply: reply)
        case "CONFIG":
            config(args, reply: reply)
        case "INFO":
            infoCommand(args, reply: reply)
        case "MULTI", "EXEC", "WATCH", "DISCARD":
            // No transaction state is opened: the connection goes on as a plain pipeline.
            reply.reply(.error(ClientCommands.transactionRefusal))
        case "SET", "GET", "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "MSET", "GETV", "PUTV", "DELV":
            data(name, args, context: context, reply: reply)
        case "STRLEN", "GETRANGE", "TYPE":
            stringCommand(name, args, context: context, reply: reply)
        case "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT":
            counterCommand(name, args, context: context, reply: reply)
        case _ where ClientCommands.isTransformCommand(name):
            transformCommand(name, args, context: context, reply: reply)
        case "NS.CREATE", "NS.USE", "NS.LIST", "NS.INFO":
            namespaceCommand(name, args, context: context, reply: reply)
        case "WHEREIS", "RING", "MEMBERS":
            clusterCommand(name, args, context: context, reply: reply)
        case "LEAVE", "REMOVE", "REPAIR", "HANDOFFS":
            operatorCommand(name, args, reply: reply)
        case "BACKUP", "RESTORE.RECORDS":
            backupCommand(name, args, reply: reply)
        default:
            reply.reply(.error("ERR unknown command '\(String(decoding: first.prefix(64), as: UTF8.self))'"))
        }
    }

    func wrongArity(_ name: String) -> RESPValue {
        .error("ERR wrong number of arguments for '\(name.lowercased())' command")
    }
}
