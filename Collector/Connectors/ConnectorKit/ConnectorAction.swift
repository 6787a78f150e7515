/// What a delivery asks its driver to do next.
///
/// Every action that ends the delivery carries the call state and session as they are now, so
/// that work already done in the CRM (a call created, a token obtained) is remembered even
/// when the delivery as a whole has to be retried: a retry then continues instead of repeating.
public enum ConnectorAction<CallState: Hashable & Sendable, Session: Hashable & Sendable>: Hashable, Sendable {
    /// Send this request and call `received(_:now:)` with what came back.
    case send(HTTPRequestPlan)
    /// Delivered. Persist both values.
    case done(callState: CallState, session: Session)
    /// Try the whole delivery again later; `afterSeconds` is the server's Retry-After when it gave one.
    case retry(reason: String, afterSeconds: Int?, callState: CallState, session: Session)
    /// The CRM refuses our credentials: stop this endpoint until an operator enters a new password.
    case authFailed(reason: String, callState: CallState, session: Session)
    /// The CRM calls this delivery invalid: park it (visible, replayable) and move on to the next.
    case rejected(status: Int, reason: String, bodyExcerpt: String, callState: CallState, session: Session)

    public var isFinal: Bool {
        if case .send = self { return false }
        return true
    }
}
