import Foundation

/// What an operator changes of an endpoint (`PATCH /api/v1/crm/{name}`); a field left out stays
/// as it is. The name and kind are what the endpoint is (its metrics, its per-call state in the
/// CRM) and the secret has a request of its own, so naming them is refused rather than ignored.
public struct EndpointEdit: Decodable, Sendable {
    public var url: String?
    /// PayamGostar only; empty is `admin`, as in `add`.
    public var user: String?
    /// Replaces the systems the endpoint serves.
    public var systemKeys: [String]?
    public var options: EndpointOptionsPatch?

    public init(url: String? = nil, user: String? = nil, systemKeys: [String]? = nil, options: EndpointOptionsPatch? = nil) {
        self.url = url
        self.user = user
        self.systemKeys = systemKeys
        self.options = options
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case url, user, systemKeys, options
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(Set(CodingKeys.allCases.map(\.stringValue)), kind: "field") { key in
            switch key {
            case "secret": "the secret is changed with PUT /api/v1/crm/{name}/password (tamasctl crm set-password), never here"
            case "name", "kind": "an endpoint's \(key) cannot change: remove the endpoint and add it again"
            case "paused": "pause and resume have requests of their own (POST /api/v1/crm/{name}/pause, /resume)"
            default: nil
            }
        }
        let values = try decoder.container(keyedBy: CodingKeys.self)
        url = try values.decodeIfPresent(String.self, forKey: .url)
        user = try values.decodeIfPresent(String.self, forKey: .user)
        systemKeys = try values.decodeIfPresent([String].self, forKey: .systemKeys)
        options = try values.decodeIfPresent(EndpointOptionsPatch.self, forKey: .options)
        guard !changedFields.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nothing to change: give url, user, systemKeys or options"))
        }
    }

    /// What the edit touches, for the collector's log: field names only, never values.
    public var changedFields: [String] {
        var fields: [String] = []
        if url != nil { fields.append("url") }
        if user != nil { fields.append("user") }
        if systemKeys != nil { fields.append("systemKeys") }
        if let options { fields += options.named.sorted().map { "options.\($0)" } }
        return fields
    }
}

/// The `options` of an edit: an option given replaces the stored one, `null` returns it to its
/// default, and an option left out keeps its value. `numberPlan` and `userNames` are each one
/// option, replaced whole.
public struct EndpointOptionsPatch: Decodable, Sendable {
    /// The options given; those given as null are nil here, as are those left out.
    var values: EndpointOptions
    /// The options given, with a value or as null.
    var named: Set<String>

    public init(from decoder: any Decoder) throws {
        values = try EndpointOptions(from: decoder)
        named = Set(try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue))
    }

    init(values: EndpointOptions, named: Set<String>) {
        self.values = values
        self.named = named
    }

    func applied(to stored: EndpointOptions) -> EndpointOptions {
        var result = stored
        func take<Value>(_ key: EndpointOptions.CodingKeys, _ option: WritableKeyPath<EndpointOptions, Value?>) {
            if named.contains(key.stringValue) { result[keyPath: option] = values[keyPath: option] }
        }
        take(.numberFormat, \.numberFormat)
        take(.numberPlan, \.numberPlan)
        take(.registerPeers, \.registerPeers)
        take(.userNames, \.userNames)
        take(.includeInternalCalls, \.includeInternalCalls)
        take(.path, \.path)
        take(.timeoutSeconds, \.timeoutSeconds)
        take(.maxBackoffSeconds, \.maxBackoffSeconds)
        take(.parallelCalls, \.parallelCalls)
        return result
    }
}
