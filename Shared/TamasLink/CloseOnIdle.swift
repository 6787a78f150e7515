import NIOCore

/// Closes a link on which nothing (not even a heartbeat) arrived for the read timeout: a dead
/// peer behind a NAT that dropped the connection would otherwise look connected for hours.
public final class CloseOnIdle: ChannelInboundHandler, Sendable {
    public typealias InboundIn = NIOAny

    public init() {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
