import TamasEvents

// The telephony REST v1 wire shapes, field for field as the public client declares them
// (1stco/PayamGostarApiClient `TelephonySystem/*.cs`): Newtonsoft without attributes, so JSON
// names are the C# property names and enums travel as their integer values.

public enum PhoneCallType: Int, Codable, Hashable, Sendable {
    case missedCall = 1, receivedCall = 2, outgoingCall = 3, `internal` = 4
}

public enum ChannelStatus: Int, Codable, Hashable, Sendable {
    case down = 1, ringing = 2, up = 3, hangUp = 4
}

public enum ChannelResponse: Int, Codable, Hashable, Sendable {
    case notAnswered = 1, answered = 2, busy = 3, transfered = 4
}

public enum TelephonySystemPeerType: Int, Codable, Hashable, Sendable {
    case `extension` = 1, trunk = 2
}

public struct CallCreateModel: Codable, Hashable, Sendable {
    public var tsKey: String
    public var sourceId: String
    public var phoneNumber: String?
    public var startDate: Timestamp
    public var callTypeIndex: PhoneCallType
    public var initChannelPeerName: String
    public var initChannelPeerTypeIndex: TelephonySystemPeerType
    public var initChannelSourceId: String
    public var isLive: Bool

    enum CodingKeys: String, CodingKey {
        case tsKey = "TsKey", sourceId = "SourceId", phoneNumber = "PhoneNumber", startDate = "StartDate"
        case callTypeIndex = "CallTypeIndex", initChannelPeerName = "InitChannelPeerName"
        case initChannelPeerTypeIndex = "InitChannelPeerTypeIndex", initChannelSourceId = "InitChannelSourceId"
        case isLive = "IsLive"
    }
}

public struct CallCreateResult: Codable, Hashable, Sendable {
    public var callId: Int64
    public var initChannelId: Int64
    public var identityId: String?
    public var identityNickName: String?

    enum CodingKeys: String, CodingKey {
        case callId = "CallId", initChannelId = "InitChannelId", identityId = "IdentityId"
        case identityNickName = "IdentityNickName"
    }
}

public struct CallUpdateModel: Codable, Hashable, Sendable {
    public var callId: Int64
    public var endDate: Timestamp?
    public var phoneNumber: String?
    /// Sent back as CallCreate resolved it: a null here could clear the identity PayamGostar found.
    public var identityId: String?
    public var callTypeIndex: PhoneCallType
    public var isLive: Bool

    enum CodingKeys: String, CodingKey {
        case callId = "CallId", endDate = "EndDate", phoneNumber = "PhoneNumber", identityId = "IdentityId"
        case callTypeIndex = "CallTypeIndex", isLive = "IsLive"
    }
}

public struct CallChannelCreateModel: Codable, Hashable, Sendable {
    public var callId: Int64
    public var channelPeerName: String
    public var channelPeerTypeIndex: TelephonySystemPeerType
    public var channelSourceId: String
    public var channelStatusIndex: ChannelStatus
    public var createDate: Timestamp
    public var isLive: Bool

    enum CodingKeys: String, CodingKey {
        case callId = "CallId", channelPeerName = "ChannelPeerName", channelPeerTypeIndex = "ChannelPeerTypeIndex"
        case channelSourceId = "ChannelSourceId", channelStatusIndex = "ChannelStatusIndex"
        case createDate = "CreateDate", isLive = "IsLive"
    }
}

public struct CallChannelCreateResult: Codable, Hashable, Sendable {
    public var callChannelId: Int64

    enum CodingKeys: String, CodingKey { case callChannelId = "CallChannelId" }
}

public struct CallChannelUpdateModel: Codable, Hashable, Sendable {
    public var callChannelId: Int64
    public var channelStatusIndex: ChannelStatus
    public var channelResponseIndex: ChannelResponse
    public var recordedFileName: String?
    public var connectDate: Timestamp?
    public var hangupDate: Timestamp?
    public var toChangePeerName: String?
    public var toChangePeerTypeIndex: TelephonySystemPeerType?
    public var isLive: Bool

    enum CodingKeys: String, CodingKey {
        case callChannelId = "CallChannelId", channelStatusIndex = "ChannelStatusIndex"
        case channelResponseIndex = "ChannelResponseIndex", recordedFileName = "RecordedFileName"
        case connectDate = "ConnectDate", hangupDate = "HangupDate", toChangePeerName = "ToChangePeerName"
        case toChangePeerTypeIndex = "ToChangePeerTypeIndex", isLive = "IsLive"
    }
}

public struct TelephonySystemPeerModel: Codable, Hashable, Sendable {
    public var id: String?
    public var name: String
    public var userId: String?
    public var telephonySystemPeerType: TelephonySystemPeerType

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", userId = "UserId", telephonySystemPeerType = "TelephonySystemPeerType"
    }
}

/// The OAuth2 password-grant answer; the public client reads only these two fields.
struct AccessTokenResult: Decodable {
    var accessToken: String
    var expiresIn: Int?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", expiresIn = "expires_in"
    }
}
