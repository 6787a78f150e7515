import SMDRProtocol
import TamasEvents
import XCTest

/// Hand-made lines for every layout and field variant the facts name.
final class SMDRLineParserTests: XCTestCase {
    private func record(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> SMDRRecord? {
        guard case .record(let record) = SMDRLineParser.parse(line) else {
            XCTFail("not a record: \(SMDRLineParser.parse(line))", file: file, line: lineNumber)
            return nil
        }
        return record
    }

    private func reason(_ line: String) -> String? {
        switch SMDRLineParser.parse(line) {
        case .unparsed(let reason), .notACall(let reason): reason
        default: nil
        }
    }

    func testPatternAIncomingEndLineWithRingAndCondition() throws {
        let record = try XCTUnwrap(record("02/11/11 01:06PM   130 09 <I>02614301566            0'00 00:00'56            TR "))
        XCTAssertEqual(record.dateFields, SMDRDateFields(first: 2, second: 11, third: 11, fourDigitFirst: false))
        XCTAssertEqual(record.hour, 13)
        XCTAssertEqual(record.minute, 6)
        XCTAssertEqual(record.extension, "130")
        XCTAssertEqual(record.coLine, "09")
        XCTAssertEqual(record.kind, .incoming)
        XCTAssertEqual(record.number, "02614301566")
        XCTAssertEqual(record.ringSec, 0)
        XCTAssertEqual(record.durationSec, 56)
        XCTAssertEqual(record.conditionCode, "TR")
        XCTAssertEqual(record.layout, .patternA)
        XCTAssertFalse(record.isRingingNotice)
    }

    func testPatternARingingLineHasNoDuration() throws {
        let record = try XCTUnwrap(record("02/11/11 01:05PM   501 09 <I>02614301566                                     RC "))
        XCTAssertNil(record.durationSec)
        XCTAssertEqual(record.conditionCode, "RC")
        XCTAssertTrue(record.isRingingNotice)
    }

    func testPatternAAnswerNoticeHasRingButNoDuration() throws {
        let record = try XCTUnwrap(record("06/24/96 10:07AM   103 03 <I>0924312111              0'20                 AN"))
        XCTAssertEqual(record.ringSec, 20)
        XCTAssertTrue(record.isAnswerNotice)
    }

    func testPatternBWithCostAndTwentyFourHourClock() throws {
        let record = try XCTUnwrap(record("07/12/20 15:02    402 01 0376689064-          00:03'13 EU00000.00            TR "))
        XCTAssertEqual(record.kind, .outgoing)
        XCTAssertEqual(record.number, "0376689064")
        XCTAssertTrue(record.dialTransferred)
        XCTAssertEqual(record.durationSec, 193)
        XCTAssertEqual(record.cost, "EU00000.00")
        XCTAssertEqual(record.hour, 15)
        XCTAssertEqual(record.layout, .patternB)
    }

    func testManualCostWithCurrencyAfterAndAccountCode() throws {
        let record = try XCTUnwrap(record("01/02/02 10:03AM  1200 01 1234567890123456     00:01'05 00560.00EU 9876543210 "))
        XCTAssertEqual(record.cost, "00560.00EU")
        XCTAssertEqual(record.accountCode, "9876543210")
        XCTAssertEqual(record.extension, "1200")
    }

    func testPatternCOneHundredTwentyColumns() throws {
        let line = "01/02/02 03:35PM  1234 0001 <I>ABC COMPANY123456789012345" + String(repeating: " ", count: 23)
            + "5'15 00:12'05 00560.00EUR 98765      NA "
        let record = try XCTUnwrap(record(line))
        XCTAssertEqual(record.coLine, "0001")
        XCTAssertEqual(record.callerName, "ABC COMPANY")
        XCTAssertEqual(record.number, "123456789012345")
        XCTAssertEqual(record.ringSec, 315)
        XCTAssertEqual(record.durationSec, 725)
        XCTAssertEqual(record.layout, .patternC)
    }

    func testPatternCWithoutCostIsRecognizedByItsFourDigitCO() throws {
        let record = try XCTUnwrap(record("01/02/02 10:07AM  1210 0002 1234567890123456789                                 0'00 00:00'05"))
        XCTAssertEqual(record.layout, .patternC)
        XCTAssertEqual(record.number, "1234567890123456789")
    }

    func testKX824StyleSpacedDateIncomingWordQuoteAndDots() throws {
        let end = try XCTUnwrap(record("12/20/11   7:09PM  16  01   <    incoming    >02177461847       00:00'24\" ....  "))
        XCTAssertEqual(end.hour, 19)
        XCTAssertEqual(end.number, "02177461847")
        XCTAssertEqual(end.durationSec, 24)
        XCTAssertEqual(end.layout, .style824)
        let ringing = try XCTUnwrap(record("12/20/11   7:09PM      01   <    incoming    >02177461847                 .... "))
        XCTAssertNil(ringing.extension)
        XCTAssertEqual(ringing.coLine, "01")
        XCTAssertTrue(ringing.isRingingNotice)
        let padded = try XCTUnwrap(record(" 1/ 6/05   1:55AM 107  01   <    incoming    >                  00:00'45\" ...."))
        XCTAssertEqual(padded.dateFields, SMDRDateFields(first: 1, second: 6, third: 5, fourDigitFirst: false))
        XCTAssertEqual(padded.number, "")
    }

    func testTransferMarkBeforeTime() throws {
        let record = try XCTUnwrap(record("12/31/98 *12:54PM 101 02 < incoming > 00:07'48 ...."))
        XCTAssertTrue(record.transferMark)
        XCTAssertEqual(record.hour, 12)
        XCTAssertEqual(record.kind, .incoming)
    }

    func testTwelveHourClockEdges() throws {
        XCTAssertEqual(record("01/02/02 12:05AM   101 01 123456            00:00'05")?.hour, 0)
        XCTAssertEqual(record("01/02/02 12:05PM   101 01 123456            00:00'05")?.hour, 12)
        XCTAssertEqual(record("01/02/02 11:59pm   101 01 123456            00:00'05")?.hour, 23)
        XCTAssertNotNil(reason("01/02/02 13:05PM   101 01 123456            00:00'05"))
        XCTAssertNotNil(reason("01/02/02 24:05   101 01 123456            00:00'05"))
    }

    func testIncomingMarkersInAnySpacingAndCase() {
        for marker in ["<I>", "<Input>", "<incoming>", "< incoming >", "<INCOMING>", "<DISA incoming>", "<DIL incoming>"] {
            XCTAssertEqual(record("07/12/20 11:00    401 05 \(marker)234               00:00'12")?.kind, .incoming, marker)
        }
        XCTAssertEqual(reason("07/12/20 11:00    401 05 <X>234               00:00'12"), "unknown marker <X> in the number column")
    }

    func testDDIBeforeCallerID() throws {
        let record = try XCTUnwrap(record("01/02/02 10:03AM  1230 01 <D>CDE9876<I>Q COMPANY    0'05 00:01'05"))
        XCTAssertEqual(record.ddi, "CDE9876")
        XCTAssertEqual(record.callerName, "Q COMPANY")
        XCTAssertEqual(record.number, "")
    }

    func testIntercomLineWithoutCO() throws {
        let record = try XCTUnwrap(record("07/12/20 14:53    402    EXT401                                                 "))
        XCTAssertEqual(record.kind, .intercom)
        XCTAssertEqual(record.extension, "402")
        XCTAssertNil(record.coLine)
        XCTAssertEqual(record.number, "401")
        XCTAssertNil(record.durationSec)
    }

    func testCOPrintedAsDoubleZeroAndDialSymbols() throws {
        let record = try XCTUnwrap(record("01/02/02 10:03AM   101 00 9P02188776655                 00:00'10"))
        XCTAssertEqual(record.coLine, "00")
        XCTAssertEqual(record.number, "902188776655")
        XCTAssertEqual(self.record("01/02/02 10:03AM   101 01 123456XX                 00:00'10")?.number, "123456XX")
        XCTAssertEqual(self.record("01/02/02 10:03AM   101 01 123..............        00:00'10")?.number, "123..............")
    }

    func testDoorphoneTieAndVerifiedCodeExtensions() {
        XCTAssertEqual(record("01/02/02 10:03AM  D101 01 123456                    00:00'10")?.extension, "D101")
        XCTAssertEqual(record("01/02/02 10:03AM  *123 01 123456                    00:00'10")?.extension, "*123")
    }

    func testLayoutLinesAreUnderstood() {
        XCTAssertEqual(SMDRLineParser.parse("  Date     Time    Ext CO        Dial Number        Ring Duration  Acc code  CD "), .layoutLine(.header))
        XCTAssertEqual(SMDRLineParser.parse("\u{0C}  Date     Time   Ext CO Dial Number          Duration Cost       Acc code   CD "),
                       .layoutLine(.header))
        XCTAssertEqual(SMDRLineParser.parse(String(repeating: "-", count: 80)), .layoutLine(.rule))
        XCTAssertEqual(SMDRLineParser.parse("   \u{0C}  "), .layoutLine(.blank))
    }

    func testNonCallLinesSayWhatTheyAre() {
        XCTAssertEqual(reason("01/02/02 10:03AM  1200    LOG IN"), "LOG IN/LOG OUT line (not a call)")
        XCTAssertEqual(reason("01/02/02 10:03AM  1200    LOG OUT"), "LOG IN/LOG OUT line (not a call)")
        XCTAssertEqual(reason("01/02/02 10:03AM  1200    Check in"), "hotel check in/out line (not a call)")
        XCTAssertEqual(reason("01/02/02 10:03AM  1200    Timed Reminder/No Answer"), "timed reminder line (not a call)")
        XCTAssertEqual(reason("01/06/05 01:18AM MN ALM 123 456"), "alarm line (not a call)")
        XCTAssertEqual(reason("MN ALM 123"), "alarm line (not a call)")
    }

    func testDamagedLinesGiveAReason() {
        XCTAssertEqual(reason("**/**/** **:**    101 01 123456      00:00'10"),
                       "the PBX printed ** instead of the date or time (its clock was changed during the call)")
        XCTAssertEqual(reason("07/12/20 11:00    401 05 <I>234               00:bla 2 EU00000.00"), "unexpected '00:bla' after the number column")
        XCTAssertEqual(reason("07/1xx20 11:00    401 05 <I>234"), "no date (like 07/12/20) at the start of the line")
        XCTAssertEqual(reason("07/12/20 1100    401 05 <I>234"), "no time (like 13:05 or 01:05PM) after the date")
        XCTAssertEqual(reason("07/12/20 11:00    401 05 <I234      00:00'10"), "'<' without '>' in the number column")
        XCTAssertEqual(reason("07/12/20 11:00    401 05 ???           00:00'10"), "number column not understood: '???'")
    }

    func testLatin1CallerNameSurvives() throws {
        let bytes: [UInt8] = Array("01/02/02 10:03AM  1230 01 <I>CAF".utf8) + [0xC9] + Array("  12345678     0'05 00:01'05".utf8)
        let line = LineFramer.decode(bytes)
        let record = try XCTUnwrap(record(line))
        XCTAssertEqual(record.callerName, "CAFÉ")
    }
}

final class SMDRLegTimesTests: XCTestCase {
    func testTimesOfOneLineFollowTheModelRule() throws {
        guard case .record(let record) = SMDRLineParser.parse("02/11/11 01:06PM   130 09 <I>02614301566            0'05 00:00'56") else {
            return XCTFail("not a record")
        }
        let end = try XCTUnwrap(SMDRLegTimes(record: record, settings: SMDRSettings(model: .kxTDE100, timeZone: "Asia/Tehran")))
        XCTAssertEqual(end.printedTime, .end)
        XCTAssertEqual(end.dateFormat, .dayMonthYear)
        XCTAssertEqual(end.startedAt.iso8601, "2011-11-02T13:04:59+03:30")
        let start = try XCTUnwrap(SMDRLegTimes(record: record, settings: SMDRSettings(model: .kxTEM824, timeZone: "Asia/Tehran")))
        XCTAssertEqual(start.printedTime, .start)
        XCTAssertEqual(start.endedAt.iso8601, "2011-02-11T13:07:01+03:30")
        let yearFirst = try XCTUnwrap(SMDRLegTimes(record: record, settings: SMDRSettings(dateFormat: .yearMonthDay)))
        XCTAssertEqual(yearFirst.endedAt.iso8601, "2002-11-11T13:06:00Z")
        guard case .record(let monthThirteen) = SMDRLineParser.parse("13/02/11 01:06PM   130 09 123456     00:00'56") else {
            return XCTFail("not a record")
        }
        XCTAssertNil(SMDRLegTimes(record: monthThirteen, settings: SMDRSettings(dateFormat: .monthDayYear)))
    }
}
