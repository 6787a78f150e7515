import CollectorCore
import Foundation
import TamasEvents

/// Puts a signed, expiring link to the collector's `/recordings/{ref}` into every recording a
/// delivery carries, when the request is sent: a delivery may go out days after its event (an
/// outage, a backlog, a replay), so a link stored with the event could be stale on arrival.
public struct RecordingLinkMinter: Sendable {
    public static let defaultLifetimeSeconds = 7 * 86_400
    public static let lifetimeRange = 60...(365 * 86_400)

    let links: RecordingLinks
    /// What CRM users' browsers reach the collector's HTTP port by, without a trailing slash.
    let publicBaseURL: String
    let lifetimeSeconds: Int

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(links: RecordingLinks, publicBaseURL: String, lifetimeSeconds: Int = Self.defaultLifetimeSeconds) throws {
        guard let parsed = URLComponents(string: publicBaseURL), let scheme = parsed.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = parsed.host, !host.isEmpty, parsed.query == nil, parsed.user == nil else {
            throw Invalid(description: "the public URL must be http(s)://host[:port][/prefix], without query or credentials")
        }
        guard Self.lifetimeRange.contains(lifetimeSeconds) else {
            throw Invalid(description: "a recording link must live between 60 seconds and 365 days")
        }
        self.links = links
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.lifetimeSeconds = lifetimeSeconds
    }

    func url(ref: String, now: Date) -> String {
        publicBaseURL + links.path(ref: ref, validFor: lifetimeSeconds, now: now)
    }

    /// The job with `url` set on the call's recording and the event's, and, for a
    /// `recording.available` event, a `recording` object on the event so that a recording no call
    /// claimed is still playable from a webhook.
    func addingLinks(to job: DeliveryJob, now: Date) -> DeliveryJob {
        var linked = job
        if let recording = job.call?.recording {
            linked.call?.recording?.url = url(ref: recording.ref, now: now)
        }
        if let recording = job.event.recording {
            linked.event.recording?.url = url(ref: recording.ref, now: now)
        } else if job.event.type == .recordingAvailable, let ref = job.event.ref {
            linked.event.recording = RecordingLink(ref: ref, agent: nil, url: url(ref: ref, now: now))
        }
        return linked
    }
}
