import Hummingbird
import Synchronization

/// Answers a request for a path the API serves, made with a method it does not serve there,
/// with `405` and an `Allow` header (RFC 9110 §15.5.6) rather than Hummingbird's `404`: a
/// script that sent `PUT` where `PATCH` is wanted learns that, instead of hunting for a
/// resource that exists.
///
/// Hummingbird keeps its routing table to itself, so the methods a path takes are found by
/// asking the router's own responder again with each other method while `RouteProbe.active`
/// is set. Added to the router before any route, this middleware is the outermost one of every
/// endpoint and of the not-found chain, so during a probe it answers at once (`204` where a
/// route matched, `404` where none did) and no handler, token check or body read runs.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The router's responder, known only once every route is added and the router is built.
    final class RouterHandle: Sendable {
        private let responder = Mutex<(any HTTPResponder<Context>)?>(nil)

        func set(_ built: any HTTPResponder<Context>) { responder.withLock { $0 = built } }

        var current: (any HTTPResponder<Context>)? { responder.withLock { $0 } }
    }

    let router: RouterHandle

    static var methods: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if RouteProbe.active { return Response(status: context.endpointPath == nil ? .notFound : .noContent) }
        guard context.endpointPath == nil, let responder = router.current else { return try await next(request, context) }
        var allowed: [HTTPRequest.Method] = []
        for method in Self.methods where method != request.method {
            var head = request.head
            head.method = method
            var probeContext = context
            probeContext.coreContext.endpointPath = EndpointPath()
            let probe = Request(head: head, body: .init(buffer: ByteBuffer()))
            let answer = try await RouteProbe.$active.withValue(true) {
                try await responder.respond(to: probe, context: probeContext)
            }
            if answer.status != .notFound { allowed.append(method) }
        }
        guard !allowed.isEmpty else { return try await next(request, context) }
        let names = allowed.map(\.rawValue).joined(separator: ", ")
        throw HTTPError(.methodNotAllowed, headers: [.allow: names],
                        message: "\(request.method.rawValue) is not served at \(request.uri.path); it takes \(names)")
    }
}

/// Set while `MethodNotAllowedMiddleware` asks the router whether a path takes a method. A task
/// local, so no request from outside can set it.
enum RouteProbe {
    @TaskLocal static var active = false
}
