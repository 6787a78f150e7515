/// `host:port` as an agent's `collector.address` and the collector's `--listen` and `--http` take
/// it: a name or IPv4 address, or an IPv6 address in brackets (`[::1]:7443`), then the port.
public struct HostPort: Hashable, Sendable {
    public var host: String
    public var port: Int

    /// nil when `text` is not one. Without a port it takes `defaultPort`, or is refused when there
    /// is none. `ports` is what the caller accepts: a listener may take 0 (any free port).
    public init?(_ text: String, defaultPort: Int? = nil, ports: ClosedRange<Int> = 1...65_535) {
        let host: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return nil }
            portText = rest.isEmpty ? nil : rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, let port = portText.map({ Int($0) }) ?? defaultPort, ports.contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }
}
