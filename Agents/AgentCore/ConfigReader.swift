import Foundation
import Yams

/// A configuration problem, always naming the file, the key and (when the key is present) the
/// line, so an installer can go straight to it.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var line: Int?
    public var message: String

    public init(file: String, key: String, line: Int?, message: String) {
        self.file = file
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Typed, located reads over a YAML document. Every section lists the keys it knows, so a
/// misspelt key is an error at start-up instead of a setting silently left at its default.
///
/// `@unchecked Sendable`: Yams nodes hold class references (anchors) but are never mutated
/// after parsing, and sections are only read.
public struct ConfigSection: @unchecked Sendable {
    public let file: String
    public let path: String
    private let mapping: [(key: String, value: Node)]
    private let line: Int?

    public static func load(path: String) throws -> ConfigSection {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, key: "", line: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> ConfigSection {
        let root: Node?
        do {
            // The basic resolver tags every plain scalar as a string, which is all the typed
            // reads below need. The default one resolves tags with NSRegularExpression, whose
            // ICU regex engine and data would stay mapped in every agent for the life of the
            // process (1 to 2.5 MB of an idle agent's peak RSS, docs/performance.md).
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw ConfigError(file: file, key: "", line: Self.line(of: error), message: "not valid YAML: \(Self.problem(of: error))")
        }
        guard let root else { return ConfigSection(file: file, path: "", mapping: [], line: nil) }
        guard let mapping = root.mapping else {
            throw ConfigError(file: file, key: "", line: root.mark?.line, message: "the top level must be a mapping of sections")
        }
        return try ConfigSection(file: file, path: "", node: mapping, line: root.mark?.line)
    }

    private init(file: String, path: String, mapping: [(key: String, value: Node)], line: Int?) {
        self.file = file
        self.path = path
        self.mapping = mapping
        self.line = line
    }

    private init(file: String, path: String, node: Node.Mapping, line: Int?) throws {
        var pairs: [(key: String, value: Node)] = []
        for (keyNode, value) in node {
            guard let key = keyNode.string else {
                throw ConfigError(file: file, key: path, line: keyNode.mark?.line, message: "keys must be plain words")
            }
            if pairs.contains(where: { $0.key == key }) {
                throw ConfigError(file: file, key: Self.join(path, key), line: keyNode.mark?.line, message: "given twice")
            }
            pairs.append((key, value))
        }
        self.init(file: file, path: path, mapping: pairs, line: line)
    }

    public var isEmpty: Bool { mapping.isEmpty }
    public var keys: [String] { mapping.map(\.key) }

    public func has(_ key: String) -> Bool { node(key) != nil }

    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, key: Self.join(path, key), line: node(key)?.mark?.line ?? line, message: message)
    }

    /// Fails on any key not in `known`, suggesting the closest known one.
    public func rejectUnknownKeys(_ known: Set<String>) throws {
        for (key, value) in mapping where !known.contains(key) {
            let suggestion = known.min { Self.distance($0, key) < Self.distance($1, key) }
                .flatMap { Self.distance($0, key) <= 3 ? " (did you mean '\($0)'?)" : nil } ?? ""
            throw ConfigError(file: file, key: Self.join(path, key), line: value.mark?.line,
                              message: "unknown setting\(suggestion); known here: \(known.sorted().joined(separator: ", "))")
        }
    }

    public func section(_ key: String) throws -> ConfigSection {
        guard let value = node(key) else { return ConfigSection(file: file, path: Self.join(path, key), mapping: [], line: line) }
        if value.null != nil { return ConfigSection(file: file, path: Self.join(path, key), mapping: [], line: value.mark?.line) }
        guard let mapping = value.mapping else { throw error(key, "must be a section (key: value lines)") }
        return try ConfigSection(file: file, path: Self.join(path, key), node: mapping, line: value.mark?.line)
    }

    public func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else { throw error(key, "is required") }
        return value
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let value = node(key), value.null == nil else { return nil }
        guard let scalar = value.scalar else { throw error(key, "must be a single value") }
        return scalar.string
    }

    public func string(_ key: String, default fallback: String) throws -> String {
        try optionalString(key) ?? fallback
    }

    public func string(_ key: String, oneOf allowed: [String], default fallback: String) throws -> String {
        let value = try string(key, default: fallback)
        guard allowed.contains(value) else { throw error(key, "must be one of \(allowed.joined(separator: ", ")), not '\(value)'") }
        return value
    }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = try optionalString(key) else { return fallback }
        guard let value = Int(text) else { throw error(key, "must be a whole number, not '\(text)'") }
        guard range.contains(value) else { throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), not \(value)") }
        return value
    }

    public func double(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
        guard let text = try optionalString(key) else { return fallback }
        guard let value = Double(text), range.contains(value) else {
            throw error(key, "must be a number between \(range.lowerBound) and \(range.upperBound), not '\(text)'")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = try optionalString(key) else { return fallback }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, not '\(text)'")
        }
    }

    public func stringList(_ key: String) throws -> [String] {
        guard let value = node(key), value.null == nil else { return [] }
        if let scalar = value.scalar { return [scalar.string] }
        guard let sequence = value.sequence else { throw error(key, "must be a list") }
        return try sequence.map { item in
            guard let scalar = item.scalar else {
                throw ConfigError(file: file, key: Self.join(path, key), line: item.mark?.line, message: "list items must be single values")
            }
            return scalar.string
        }
    }

    private func node(_ key: String) -> Node? {
        mapping.first { $0.key == key }?.value
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
