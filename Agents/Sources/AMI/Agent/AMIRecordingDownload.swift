import AgentCore
import Foundation
import RemoteFiles
import TamasLink

/// The `ami.recordingDownload:` section: how the agent reaches the recordings on the Asterisk
/// server (SPEC.md section 4: SFTP, or FTP for systems without SSH such as MyPBX).
enum AMIRecordingDownloadSettings {
    static let keys: Set<String> = [
        "protocol", "host", "port", "user", "password", "passwordFile", "privateKeyFile",
        "connectTimeoutSeconds", "timeoutSeconds", "knownHostsFile",
    ]

    /// Nil when downloads are off: no section, or `protocol: none`.
    static func read(_ section: ConfigSection, amiHost: String, dataFolder: String) throws -> RemoteFilesSettings? {
        guard !section.isEmpty else { return nil }
        try section.rejectUnknownKeys(keys)
        let transferName = try section.string("protocol", oneOf: ["sftp", "ftp", "none"], default: "sftp")
        guard let transfer = RemoteFilesSettings.Transfer(rawValue: transferName) else { return nil }
        let credential: RemoteFilesSettings.Credential
        switch (try section.optionalString("password"), try section.optionalString("passwordFile"), try section.optionalString("privateKeyFile")) {
        case (let password?, nil, nil):
            if Secrets.isExposed(path: section.file) {
                throw section.error("password", "this file holds the recording server's password but others can read it: chmod 600 \(section.file)")
            }
            credential = .password(password)
        case (nil, let file?, nil):
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw section.error("passwordFile", "cannot read \(file)") }
            if Secrets.isExposed(path: file) { throw section.error("passwordFile", "\(file) can be read by others: chmod 600 it") }
            credential = .password(text.trimmingCharacters(in: .newlines))
        case (nil, nil, let key?):
            guard transfer == .sftp else { throw section.error("privateKeyFile", "FTP logs in with a password; a key file works only with protocol: sftp") }
            guard FileManager.default.isReadableFile(atPath: key) else { throw section.error("privateKeyFile", "cannot read \(key)") }
            if Secrets.isExposed(path: key) { throw section.error("privateKeyFile", "\(key) can be read by others: chmod 600 it") }
            credential = .privateKeyFile(path: key, passphrase: nil)
        case (nil, nil, nil):
            throw section.error("password", "is required (or passwordFile, or privateKeyFile for sftp): the login of the user that can read the recordings")
        default:
            throw section.error("password", "give one of password, passwordFile and privateKeyFile")
        }
        return RemoteFilesSettings(
            transfer: transfer,
            host: try section.string("host", default: amiHost),
            port: try section.int("port", default: transfer == .sftp ? 22 : 21, range: 1...65535),
            user: try section.string("user", default: "root"),
            credential: credential,
            connectTimeoutSeconds: try section.int("connectTimeoutSeconds", default: 10, range: 1...300),
            timeoutSeconds: try section.int("timeoutSeconds", default: 30, range: 1...3600),
            knownHostsFile: try section.string("knownHostsFile", default: dataFolder + "/known_hosts"))
    }
}

/// Where a `recording.available` ref may lead: an absolute path under the recording folder,
/// without `.`/`..`/empty parts, backslashes or control characters, naming an audio file. Refs
/// reach the agent from CRM users through the collector, so this is the boundary that keeps a
/// fetch inside the recordings (e.g. away from `/etc/asterisk/manager.conf`).
enum AMIRecordingPath {
    static let formats: Set<String> = ["wav", "mp3", "gsm"]

    static func resolve(ref: String, root: String) throws(RecordingFetch.Problem) -> String {
        func refuse(_ reason: String) -> RecordingFetch.Problem { RecordingFetch.Problem("refused '\(ref)': \(reason)") }
        guard ref.hasPrefix("/") else { throw refuse("not an absolute path under the recording folder \(root)") }
        guard !ref.unicodeScalars.contains(where: { $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw refuse("backslash or control character in the path")
        }
        let parts = ref.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for part in parts where part.isEmpty || part == "." || part == ".." {
            throw refuse("'\(part)' components leave or bend the recording folder")
        }
        let rootParts = root.split(separator: "/")
        guard parts.count > rootParts.count, Array(parts.prefix(rootParts.count)) == rootParts else {
            throw refuse("outside the recording folder \(root) (ami.recordingPath)")
        }
        guard RecordingFetch.contentType(fileName: String(parts.last ?? ""), allowed: formats) != nil else {
            throw refuse("only .wav, .mp3 and .gsm recordings are served")
        }
        return ref
    }
}
