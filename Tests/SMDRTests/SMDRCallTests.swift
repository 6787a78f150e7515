import SMDRProtocol
import TamasEvents
import XCTest

/// How lines become calls: ring groups, missed calls, transfers, ignored extensions, times.
final class SMDRCallTests: XCTestCase {
    static let now = Timestamp(epochMillis: 1_800_000_000_000)

    static func decode(_ lines: [String], _ settings: SMDRSettings = SMDRSettings(systemKey: "t"),
                       finish: Bool = true) -> [CallEvent] {
        var decoder = SMDRDecoder(settings: settings)
        let events = decoder.receive(Array((lines.joined(separator: "\r\n") + "\r\n").utf8), now: now)
        return finish ? events + decoder.finish(now: now) : events
    }

    static func calls(_ events: [CallEvent]) -> [String: CallRecord] {
        events.reduce(into: [:]) { calls, event in
            guard let callId = event.callId else { return }
            calls[callId] = CallAssembler.apply(event, to: calls[callId])
        }
    }

    private func onlyCall(_ events: [CallEvent], file: StaticString = #filePath, line: UInt = #line) throws -> CallRecord {
        let calls = Self.calls(events)
        XCTAssertEqual(calls.count, 1, "calls: \(calls.values.map(\.callId))", file: file, line: line)
        return try XCTUnwrap(calls.values.first, file: file, line: line)
    }

    func testRingGroupMembersAndAnswererAreOneCallAnsweredByTheAnswerer() throws {
        let events = Self.decode([
            "07/12/20 11:22    401 05 <I>234               00:00'00 EU00000.00            NA ",
            "07/12/20 11:23    611 05 <I>234               00:00'00 EU00000.00               ",
            "07/12/20 11:23    401 05 <I>234               00:00'53 EU00000.00               ",
        ])
        XCTAssertEqual(events.map(\.type), [.callRinging, .callEnded])
        let ringing = events[0]
        XCTAssertEqual(ringing.extensions, ["401", "611"])
        let call = try onlyCall(events)
        XCTAssertEqual(call.disposition, .answered)
        XCTAssertEqual(call.answeredBy, "401")
        XCTAssertEqual(call.durationSec, 53)
        XCTAssertEqual(call.line, "05")
    }

    func testUnansweredRingGroupIsOneMissedCall() throws {
        let events = Self.decode([
            "11/12/20 08:58    401 05 <I>234               00:00'00 EU00000.00            NA ",
            "11/12/20 08:59    611 05 <I>234               00:00'00 EU00000.00            NA ",
        ])
        XCTAssertEqual(events.filter { $0.disposition == .missed }.count, 1)
        let call = try onlyCall(events)
        XCTAssertEqual(call.disposition, .missed)
        XCTAssertEqual(call.extensions, ["401", "611"])
        XCTAssertEqual(call.durationSec, 0)
    }

    func testSameCallerTwoMinutesLaterIsANewCall() {
        let events = Self.decode([
            "11/12/20 09:10    401 05 <I>236               00:00'00 EU00000.00            NA ",
            "11/12/20 09:10    611 05 <I>236               00:00'00 EU00000.00            NA ",
            "11/12/20 09:12    401 05 <I>236               00:00'00 EU00000.00            NA ",
            "11/12/20 09:12    611 05 <I>236               00:00'00 EU00000.00               ",
            "11/12/20 09:12    401 05 <I>236               00:00'16 EU00000.00               ",
        ])
        let calls = Self.calls(events).values.sorted { $0.startedAt! < $1.startedAt! }
        XCTAssertEqual(calls.map(\.disposition), [.missed, .answered])
    }

    func testRingingAfterAnAnsweredCallEndedIsANewCall() {
        let events = Self.decode([
            "09/12/20 08:10    401 05 <I>221               00:00'46 EU00000.00               ",
            "09/12/20 08:11    401 05 <I>221               00:00'00 EU00000.00            NA ",
            "09/12/20 08:12    401 05 <I>221               00:00'23 EU00000.00               ",
        ])
        XCTAssertEqual(Self.calls(events).count, 2)
    }

    func testRCLineRingsAtOnceAndTheEndLineEndsTheSameCall() throws {
        let ringing = Self.decode(["02/11/11 01:05PM   501 09 <I>02614301566                                     RC "], finish: false)
        XCTAssertEqual(ringing.map(\.type), [.callRinging])
        let events = Self.decode([
            "02/11/11 01:05PM   501 09 <I>02614301566                                     RC ",
            "02/11/11 01:06PM   130 09 <I>02614301566            0'00 00:00'56            TR ",
        ])
        XCTAssertEqual(events.map(\.type), [.callRinging, .callEnded])
        XCTAssertEqual(events[0].callId, ringing[0].callId)
        let call = try onlyCall(events)
        XCTAssertEqual(call.answeredBy, "130")
        XCTAssertEqual(call.extensions, ["501", "130"])
    }

    func testAnswerNoticeGivesCallAnswered() throws {
        let events = Self.decode([
            "06/24/96 10:03AM   103 03 <I>1234567890                                        RC ",
            "06/24/96 10:03AM   103 03 <I>1234567890             0'20                       AN ",
            "06/24/96 10:05AM   103 03 <I>1234567890             0'20 00:01'30                 ",
        ])
        XCTAssertEqual(events.map(\.type), [.callRinging, .callAnswered, .callEnded])
        XCTAssertEqual(events[1].answeredBy, "103")
        XCTAssertEqual(try onlyCall(events).durationSec, 90)
    }

    /// An RC line whose end line never comes (lost, or printed while nobody read the port)
    /// would leave the call ringing in every CRM's live view for ever; after
    /// `linkRetentionSeconds` on the agent's clock it is closed, as the Asterisk agent closes a
    /// call whose Hangup never came, once, and it is no longer an open call to save.
    func testAnRCLineWithoutItsEndLineIsClosedAsMissedAfterTheRetention() throws {
        var decoder = SMDRDecoder(settings: SMDRSettings(systemKey: "t", linkRetentionSeconds: 3600))
        let rc = "02/11/11 01:05PM   501 09 <I>02614301566                                     RC "
        let ringing = decoder.receive(Array((rc + "\r\n").utf8), now: Self.now)
        XCTAssertEqual(ringing.map(\.type), [.callRinging])
        XCTAssertEqual(decoder.tick(now: Self.now.adding(seconds: 3599)), [], "not yet overdue")
        XCTAssertEqual(decoder.openCallLines(), [rc])
        let closed = decoder.tick(now: Self.now.adding(seconds: 3660))
        XCTAssertEqual(closed.map(\.type), [.callEnded])
        let ended = try XCTUnwrap(closed.first)
        XCTAssertEqual(ended.callId, ringing.first?.callId)
        XCTAssertEqual(ended.disposition, .missed)
        XCTAssertEqual(ended.endedAt, ringing.first?.at, "it ends at its last line, the one moment it is known to have existed")
        XCTAssertEqual(ended.detail, "no end line seen: closed 1 h after its last line without one; endedAt is its last line")
        XCTAssertNoThrow(try ended.validate())
        XCTAssertEqual(decoder.tick(now: Self.now.adding(seconds: 7200)), [], "closed once")
        XCTAssertEqual(decoder.openCallLines(), [], "nothing left to read again after a restart")

        var again = SMDRDecoder(settings: SMDRSettings(systemKey: "t", linkRetentionSeconds: 3600))
        _ = again.receive(Array((rc + "\r\n").utf8), now: Self.now)
        _ = again.tick(now: Self.now.adding(seconds: 10))
        XCTAssertEqual(again.tick(now: Self.now.adding(seconds: 4000)).map(\.eventId), closed.map(\.eventId),
                       "the same lines give the same ids whenever the tick comes")
    }

    func testAnAnsweredCallWithoutItsEndLineIsClosedAsAnsweredOfUnknownLength() throws {
        var decoder = SMDRDecoder(settings: SMDRSettings(systemKey: "t"))
        let lines = [
            "06/24/96 10:03AM   103 03 <I>1234567890                                        RC ",
            "06/24/96 10:03AM   103 03 <I>1234567890             0'20                       AN ",
        ]
        let live = decoder.receive(Array((lines.joined(separator: "\r\n") + "\r\n").utf8), now: Self.now)
        XCTAssertEqual(live.map(\.type), [.callRinging, .callAnswered])
        let closed = decoder.tick(now: Self.now.adding(seconds: 4 * 3600 + 1))
        XCTAssertEqual(closed.map(\.type), [.callEnded])
        XCTAssertEqual(closed.first?.disposition, .answered)
        XCTAssertEqual(closed.first?.answeredBy, "103")
        XCTAssertEqual(closed.first?.durationSec, 0)
        XCTAssertEqual(closed.first?.detail, "no end line seen: closed 4 h after its last line without one; endedAt is its last line, "
                       + "the length of the conversation is unknown")
    }

    /// Without ticks (a replayed file) the PBX's own clock does it: when the calls kept for
    /// late lines are dropped, an RC call among them is closed first, not dropped unreported.
    func testAnRCLineWithoutItsEndLineIsClosedWhenLaterLinesPassTheRetention() throws {
        let start = try XCTUnwrap(Timestamp(year: 2011, month: 2, day: 11, hour: 13, minute: 6, second: 0, timeZone: .gmt))
        var traffic = SMDRTrafficGenerator(model: .kxTDA200, seed: 7, start: start, callCount: 900).generate().lines
        traffic.insert("11/02/11 01:05PM   501 09 <I>02614301566                                     RC ", at: 1)
        let events = Self.decode(traffic, SMDRSettings(systemKey: "t", model: .kxTDA200, timeZone: "UTC"), finish: false)
        let rcCall = try XCTUnwrap(events.first { $0.raw?.hasSuffix("RC ") == true && $0.from == "+982614301566" }?.callId)
        let ends = events.filter { $0.callId == rcCall && $0.type == .callEnded }
        XCTAssertEqual(ends.map(\.disposition), [.missed])
        XCTAssertTrue(ends.first?.detail?.hasPrefix("no end line seen: closed 4 h after its last line") == true, "\(ends)")
    }

    func testIgnoredExtensionIsHiddenAndTheRealAnswererCredited() throws {
        let settings = SMDRSettings(systemKey: "t", ignoredExtensions: ["601"])
        let events = Self.decode([
            "09/12/20 09:36    601 01 <I>035972662         00:00'31 EU00000.00               ",
            "09/12/20 09:37    401 01 <I>035972662         00:00'34 EU00000.00               ",
        ], settings)
        let call = try onlyCall(events)
        XCTAssertEqual(call.answeredBy, "401")
        XCTAssertEqual(call.extensions, ["401"])
        XCTAssertNil(call.transferredTo)
        XCTAssertEqual(call.durationSec, 34)
    }

    func testCallTakenOnlyByAnIgnoredExtensionIsMissedAndSaysSo() throws {
        let settings = SMDRSettings(systemKey: "t", ignoredExtensions: ["601"])
        let events = Self.decode(["07/12/20 18:28    601 01 <I>3483238995        00:01'39 EU00000.00               "], settings)
        let call = try onlyCall(events)
        XCTAssertEqual(call.disposition, .missed)
        XCTAssertEqual(call.extensions, [])
        XCTAssertEqual(events.last?.detail, "only ignored extensions took it: 601")
    }

    func testIncomingTransferChainIsOneCallWithTransferredTo() throws {
        let events = Self.decode([
            "07/12/20 14:53    402 01 <I>035967808         00:00'10 EU00000.00               ",
            "07/12/20 14:55    401 01 <I>035967808         00:01'44 EU00000.00               ",
        ])
        let call = try onlyCall(events)
        XCTAssertEqual(call.answeredBy, "402")
        XCTAssertEqual(call.transferredTo, "401")
        XCTAssertEqual(call.durationSec, 114)
    }

    func testOutgoingTransferredLegIsLinkedByTheTrailingDash() throws {
        let events = Self.decode([
            "07/12/20 14:59    401 01 0376689064           00:00'27 EU00000.00               ",
            "07/12/20 15:02    402 01 0376689064-          00:03'13 EU00000.00            TR ",
        ])
        let call = try onlyCall(events)
        XCTAssertEqual(call.direction, .outbound)
        XCTAssertEqual(call.extension, "401")
        XCTAssertEqual(call.transferredTo, "402")
        XCTAssertEqual(call.durationSec, 220)
    }

    func testForwardToCOLineContinuesTheIncomingCall() throws {
        let events = Self.decode([
            "07/12/20 13:25    604 21 <I>3476138179        00:00'17 EU00000.00               ",
            "07/12/20 13:25    604 01 3356182041           00:00'17 EU00000.00            FW ",
        ], SMDRSettings(systemKey: "t", numberPlan: NumberPlan(countryCode: "39", nationalPrefix: "")))
        let call = try onlyCall(events)
        XCTAssertEqual(call.direction, .inbound)
        XCTAssertEqual(call.transferredTo, "3356182041")
    }

    func testKX824TransferMarkContinuesTheCallAndTimeIsTheStart() throws {
        let events = Self.decode([
            "12/31/98 12:53PM 103 02 < incoming > 00:01'43 ....",
            "12/31/98 *12:54PM 101 02 < incoming > 00:07'48 ....",
        ], SMDRSettings(systemKey: "t", model: .kxTA616))
        let call = try onlyCall(events)
        XCTAssertEqual(call.startedAt?.iso8601, "1998-12-31T12:53:00Z")
        XCTAssertEqual(call.endedAt?.iso8601, "1998-12-31T13:01:48Z")
        XCTAssertEqual(call.transferredTo, "101")
    }

    func testEndTimeModelsCountBackFromThePrintedTime() throws {
        let line = "02/11/11 01:06PM   130 09 <I>02614301566            0'05 00:00'56                 "
        let tda = try onlyCall(Self.decode([line], SMDRSettings(systemKey: "t", model: .kxTDA200, timeZone: "Asia/Tehran")))
        XCTAssertEqual(tda.endedAt?.iso8601, "2011-11-02T13:06:00+03:30")
        XCTAssertEqual(tda.answeredAt?.iso8601, "2011-11-02T13:05:04+03:30")
        XCTAssertEqual(tda.startedAt?.iso8601, "2011-11-02T13:04:59+03:30")
        XCTAssertEqual(tda.ringSec, 5)
        let tes = try onlyCall(Self.decode([line], SMDRSettings(systemKey: "t", model: .kxTES824, timeZone: "Asia/Tehran")))
        XCTAssertEqual(tes.startedAt?.iso8601, "2011-02-11T13:06:00+03:30", "TES824 reads month first and the start time")
        XCTAssertEqual(tes.endedAt?.iso8601, "2011-02-11T13:07:01+03:30")
    }

    func testDateFormats() throws {
        func started(_ line: String, _ format: SMDRDateOrder) throws -> String? {
            try onlyCall(Self.decode([line], SMDRSettings(systemKey: "t", model: .kxNS500, dateFormat: format))).endedAt?.iso8601
        }
        let line = "20/12/07 11:00    401 06 234                  00:00'13 EU00000.00               "
        XCTAssertEqual(try started(line, .yearMonthDay), "2020-12-07T11:00:00Z")
        XCTAssertEqual(try started(line, .dayMonthYear), "2007-12-20T11:00:00Z")
        XCTAssertEqual(try started(line, .auto), "2007-12-20T11:00:00Z", "20 cannot be a month")
        XCTAssertEqual(try started("12/20/07 11:00    401 06 234                  00:00'13", .auto), "2007-12-20T11:00:00Z")
        XCTAssertEqual(try started("12/20/07 11:00    401 06 234                  00:00'13", .monthDayYear), "2007-12-20T11:00:00Z")
        XCTAssertEqual(try started("2020/12/07 11:00    401 06 234                00:00'13", .auto), "2020-12-07T11:00:00Z")
        let invalid = Self.decode(["12/20/07 11:00    401 06 234                  00:00'13"],
                                  SMDRSettings(systemKey: "t", dateFormat: .dayMonthYear))
        XCTAssertEqual(invalid.map(\.type), [.lineUnparsed])
        XCTAssertEqual(invalid.first?.reason, "date is not a valid dd/mm/yy date")
    }

    func testOutgoingZeroDurationIsNoAnswerOrIgnored() throws {
        let line = "07/12/20 11:22    401 05 234                  00:00'00 EU00000.00               "
        XCTAssertEqual(try onlyCall(Self.decode([line])).disposition, .noAnswer)
        XCTAssertEqual(Self.decode([line], SMDRSettings(systemKey: "t", ignoreZeroDuration: true)), [])
        let intercom = "07/12/20 14:53    402    EXT401                                                 "
        XCTAssertEqual(try onlyCall(Self.decode([intercom])).direction, .internal)
    }

    func testNumbersAreNormalizedWithTheReleaseCodeStripped() throws {
        let plan = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21")
        let outgoing = try onlyCall(Self.decode(["06/11/11 02:19PM   132 67 988776655                      00:01'22  "],
                                                SMDRSettings(systemKey: "t", numberPlan: plan)))
        XCTAssertEqual(outgoing.to, "+982188776655")
        XCTAssertEqual(outgoing.toRaw, "988776655")
        XCTAssertEqual(outgoing.from, "132")
        let incoming = try onlyCall(Self.decode(["06/11/11 02:08PM   556 08 <I>77991693               0'00 00:00'22        "],
                                                SMDRSettings(systemKey: "t", numberPlan: plan)))
        XCTAssertEqual(incoming.from, "+982177991693")
        XCTAssertEqual(incoming.to, "556")
    }

    func testPendingGroupIsReportedMissedByTickAndALateAnswerCorrectsIt() throws {
        var decoder = SMDRDecoder(settings: SMDRSettings(systemKey: "t", groupWindowSeconds: 10))
        let member = "07/12/20 15:28    601 21 <I>3332218301        00:00'00 EU00000.00               \r\n"
        XCTAssertEqual(decoder.receive(Array(member.utf8), now: Self.now), [])
        XCTAssertEqual(decoder.tick(now: Self.now.adding(seconds: 9)), [])
        let flushed = decoder.tick(now: Self.now.adding(seconds: 10))
        XCTAssertEqual(flushed.map(\.type), [.callRinging, .callEnded])
        XCTAssertEqual(flushed.last?.disposition, .missed)
        let answer = "07/12/20 15:30    401 21 <I>3332218301        00:01'45 EU00000.00               \r\n"
        let late = decoder.receive(Array(answer.utf8), now: Self.now.adding(seconds: 120))
        XCTAssertEqual(late.map(\.type), [.callEnded])
        XCTAssertEqual(late.first?.callId, flushed.first?.callId)
        let call = try onlyCall(flushed + late)
        XCTAssertEqual(call.disposition, .answered)
        XCTAssertEqual(call.answeredBy, "401")
    }

    /// A trunk carries one call at a time: a new call on the trunk of a group nobody answered
    /// proves the group is over, long before the window. Another trunk, or a model that prints
    /// `00` for every trunk, proves nothing.
    func testAnotherCallOnTheSameTrunkEndsAnUnansweredGroupAtOnce() {
        let settings = SMDRSettings(systemKey: "t", groupWindowSeconds: 3_600)
        let group = [
            "10/12/20 14:41    402 05 <I>234               00:00'00 EU00000.00            NA ",
            "10/12/20 14:41    611 05 <I>234               00:00'00 EU00000.00               ",
        ]
        let sameTrunk = Self.decode(group + ["10/12/20 14:44    401 05 <I>236               00:00'20 EU00000.00               "],
                                    settings, finish: false)
        XCTAssertEqual(sameTrunk.map(\.type), [.callRinging, .callEnded, .callRinging, .callEnded])
        XCTAssertEqual(sameTrunk.map(\.disposition), [nil, .missed, nil, .answered])
        XCTAssertEqual(sameTrunk[0].extensions, ["402", "611"])
        XCTAssertEqual(sameTrunk[1].from, "234")

        let tooSoon = Self.decode(group + ["10/12/20 14:42    401 05 <I>236               00:00'20 EU00000.00               "],
                                  settings, finish: false)
        XCTAssertEqual(tooSoon.map(\.disposition), [nil, .answered], "within the printed minute's slack the trunk may be the group's own")
        let otherTrunk = Self.decode(group + ["10/12/20 14:44    401 06 <I>236               00:00'20 EU00000.00               "],
                                     settings, finish: false)
        XCTAssertEqual(otherTrunk.map(\.disposition), [nil, .answered])
        let unnamedTrunk = Self.decode(group.map { $0.replacingOccurrences(of: " 05 ", with: " 00 ") }
                                       + ["10/12/20 14:44    401 00 <I>236               00:00'20 EU00000.00               "],
                                       settings, finish: false)
        XCTAssertEqual(unnamedTrunk.map(\.disposition), [nil, .answered])
    }

    /// A restarted agent reads the open calls' lines again before new input: the line that
    /// settles such a call then lands on the same call, exactly as without the restart.
    func testOpenCallLinesFedToANewDecoderResumeTheSameCalls() throws {
        let open = [
            "07/12/20 11:22    401 05 <I>234               00:00'00 EU00000.00            NA ",
            "07/12/20 11:23    611 05 <I>234               00:00'00 EU00000.00               ",
            "06/11/11 02:08PM   556 08 <I>77991693                                           RC",
        ]
        let settling = [
            "07/12/20 11:23    401 05 <I>234               00:00'53 EU00000.00               ",
            "06/11/11 02:08PM   556 08 <I>77991693               0'00 00:00'22        ",
        ]
        let settings = SMDRSettings(systemKey: "t", model: .kxTDA100)
        var uninterrupted = SMDRDecoder(settings: settings)
        var before = open.flatMap { uninterrupted.receive(line: $0, now: Self.now) }
        XCTAssertEqual(uninterrupted.openCallLines(), [open[2], open[0], open[1]], "oldest call first, its lines in order")
        var restarted = SMDRDecoder(settings: settings)
        let replayed = uninterrupted.openCallLines().flatMap { restarted.receive(line: $0, now: Self.now) }
        XCTAssertEqual(Set(replayed.map(\.eventId)), Set(before.map(\.eventId)), "reading them again repeats only events already sent")
        before += settling.flatMap { uninterrupted.receive(line: $0, now: Self.now) }
        let after = replayed + settling.flatMap { restarted.receive(line: $0, now: Self.now) }
        XCTAssertEqual(Self.calls(after), Self.calls(before))
        XCTAssertEqual(Self.calls(after).count, 2)
        XCTAssertEqual(restarted.openCallLines(), [])
    }

    func testPBXClockMovingOnFlushesAPendingGroupWithoutTicks() {
        let events = Self.decode([
            "10/12/20 14:41    402 05 <I>234               00:00'00 EU00000.00            NA ",
            "10/12/20 15:20    401 06 236                  00:00'10 EU00000.00               ",
        ], finish: false)
        XCTAssertEqual(events.map(\.type), [.callEnded, .callRinging, .callEnded])
        XCTAssertEqual(events.last?.disposition, .missed)
    }

    func testUnknownTimeZoneIsReportedOnceAndUTCUsed() {
        var decoder = SMDRDecoder(settings: SMDRSettings(systemKey: "t", timeZone: "Mars/Olympus"))
        let first = decoder.tick(now: Self.now)
        XCTAssertEqual(first.map(\.type), [.agentStatus])
        XCTAssertEqual(first.first?.detail, "unknown timeZone 'Mars/Olympus': PBX times are read as UTC")
        XCTAssertEqual(decoder.tick(now: Self.now), [])
    }

    func testEveryEventIsValid() throws {
        for file in ["italy-pattern-b__gestionecentralino.txt", "tde-kx824__delphi-service.txt", "manual-excerpts.txt",
                     "rs232-variants__lotus-project.txt"] {
            let events = Self.decode(try SMDRSample.lines(file))
            for event in events { XCTAssertNoThrow(try event.validate(), "\(file): \(event)") }
        }
    }

    func testSettingsDecodeWithDefaults() throws {
        let settings = try JSONDecoder().decode(SMDRSettings.self, from: Data(#"{"systemKey":"hq","model":"KX-NS500"}"#.utf8))
        XCTAssertEqual(settings.model, .kxNS500)
        XCTAssertEqual(settings.dateFormat, .auto)
        XCTAssertEqual(settings.groupWindowSeconds, 600)
        XCTAssertEqual(settings.ignoredExtensions, [])
    }
}

extension SMDRCallTests {
    func testAFloodOfUnansweredGroupsIsReportedInsteadOfPilingUp() {
        let lines = (0..<300).map { index in
            "07/12/20 11:22    401 05 <I>\(1_000_000 + index)         00:00'00 EU00000.00            NA "
        }
        let events = Self.decode(lines, finish: false)
        XCTAssertEqual(events.filter { $0.disposition == .missed }.count, 300 - 256)
    }
}
