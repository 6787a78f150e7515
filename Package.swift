// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tamas",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tamas-collector", targets: ["tamas-collector"]),
        .executable(name: "tamas-agent", targets: ["tamas-agent"]),
        .executable(name: "tamasctl", targets: ["tamasctl"]),
        .executable(name: "tamas-bench", targets: ["tamas-bench"]),
        .library(name: "TamasEvents", targets: ["TamasEvents"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Shared: what agents and the collector both speak.
        .target(name: "TamasEvents", path: "Shared/TamasEvents"),
        .target(name: "Spawn", path: "Shared/Spawn"),
        .target(
            name: "TamasLink",
            dependencies: [
                "TamasEvents",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/TamasLink"
        ),

        // Agents: one folder per source, all behind AgentCore's EventSource protocol.
        .target(
            name: "AgentCore",
            dependencies: [
                "TamasEvents", "TamasLink",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Agents/AgentCore"
        ),
        // Remote files (recordings on the PBX): SFTP over libssh2 and passive FTP.
        .systemLibrary(
            name: "CLibSSH2", path: "Agents/RemoteFiles/CLibSSH2", pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]),
        .target(
            name: "RemoteFiles",
            dependencies: ["CLibSSH2", "AgentCore", "TamasLink"],
            path: "Agents/RemoteFiles", exclude: ["CLibSSH2"]),
        .target(name: "SerialPort", path: "Agents/Serial"),
        .target(name: "JSONLProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/JSONL/Protocol"),
        .target(
            name: "AgentCLI",
            dependencies: [
                "TamasEvents", "TamasLink", "AgentCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Agents/AgentCLI"),
        .target(
            name: "JSONLAgent",
            dependencies: ["TamasEvents", "AgentCore", "AgentCLI", "JSONLProtocol",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Agents/Sources/JSONL/Agent"),
        .target(name: "SMDRProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/SMDR/Protocol"),
        .target(
            name: "AMIProtocol",
            dependencies: ["TamasEvents", .product(name: "Crypto", package: "swift-crypto")],
            path: "Agents/Sources/AMI/Protocol"),
        .target(
            name: "AMIAgent",
            dependencies: ["TamasEvents", "TamasLink", "AgentCore", "AgentCLI", "AMIProtocol", "RemoteFiles", "Spawn",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Agents/Sources/AMI/Agent"),
        .target(name: "CallerIDProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/CallerID/Protocol"),
        .target(name: "TelsaProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/Telsa/Protocol"),
        .target(
            name: "TelsaAgent",
            dependencies: ["TamasEvents", "TamasLink", "AgentCore", "AgentCLI", "TelsaProtocol",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio")],
            path: "Agents/Sources/Telsa/Agent"),
        .target(
            name: "DeviceLink",
            dependencies: ["AgentCore", "SerialPort"],
            path: "Agents/DeviceLink"),
        .target(
            name: "SMDRAgent",
            dependencies: ["TamasEvents", "TamasLink", "AgentCore", "AgentCLI", "SMDRProtocol", "DeviceLink", "SerialPort",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Agents/Sources/SMDR/Agent"),
        .target(
            name: "CallerIDAgent",
            dependencies: ["TamasEvents", "AgentCore", "AgentCLI", "CallerIDProtocol", "DeviceLink", "SerialPort",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Agents/Sources/CallerID/Agent"),
        .executableTarget(
            name: "tamas-agent",
            dependencies: [
                "TamasEvents", "TamasLink", "AgentCore", "JSONLAgent", "AMIAgent", "SMDRAgent", "CallerIDAgent", "TelsaAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Agents/tamas-agent",
            // An idle agent's peak RSS is mostly file pages touched while it starts (docs/performance.md).
            // lld packs the relative relocations (DT_RELR, glibc 2.36+) that the loader otherwise reads
            // as a 3 MB table, and --no-export-dynamic keeps the symbol table that --static-swift-stdlib
            // exports (2 MB, searched by every shared library's symbol lookups) out of the binary.
            linkerSettings: [
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
                             .when(platforms: [.linux], configuration: .release)),
            ]
        ),

        // Collector: ingest, store, call assembly, HTTP admin API.
        .target(
            name: "CollectorCore",
            dependencies: [
                "TamasEvents", "TamasLink",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Collector/CollectorCore"
        ),
        .target(
            name: "CollectorHTTP",
            dependencies: [
                "TamasEvents", "TamasLink", "CollectorCore", "CRMDelivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Collector/CollectorHTTP"
        ),
        .target(name: "ConnectorKit", dependencies: ["TamasEvents"], path: "Collector/Connectors/ConnectorKit"),
        .target(name: "PayamGostarConnector", dependencies: ["TamasEvents", "ConnectorKit"], path: "Collector/Connectors/PayamGostar"),
        .target(
            name: "WebhookConnector",
            dependencies: ["TamasEvents", "ConnectorKit", .product(name: "Crypto", package: "swift-crypto")],
            path: "Collector/Connectors/Webhook"),
        .target(name: "ZammadConnector", dependencies: ["TamasEvents", "ConnectorKit"], path: "Collector/Connectors/Zammad"),
        .target(
            name: "CRMDelivery",
            dependencies: [
                "TamasEvents", "TamasLink", "CollectorCore", "ConnectorKit", "PayamGostarConnector", "WebhookConnector", "ZammadConnector",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Collector/Delivery"),
        .executableTarget(
            name: "tamas-collector",
            dependencies: [
                "TamasEvents", "TamasLink", "CollectorCore", "CollectorHTTP", "CRMDelivery", "Spawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Collector/tamas-collector"
        ),
        .executableTarget(
            name: "tamasctl",
            dependencies: [
                "TamasEvents", "TamasLink",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Collector/tamasctl"
        ),

        .target(name: "TestSupport", dependencies: ["Spawn"], path: "Tests/TestSupport"),
        .executableTarget(
            name: "tamas-bench",
            dependencies: [
                "TamasEvents", "TamasLink", "AgentCore", "CollectorCore", "CRMDelivery", "Spawn",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Benchmarks"),
        .testTarget(name: "TamasEventsTests", dependencies: ["TamasEvents"], path: "Tests/TamasEventsTests"),
        .testTarget(
            name: "SMDRTests", dependencies: ["SMDRProtocol", "TamasEvents", "TestSupport"],
            path: "Tests/SMDRTests", exclude: ["Golden"]),
        .testTarget(
            name: "AMITests", dependencies: ["AMIProtocol", "TamasEvents", "TestSupport"],
            path: "Tests/AMITests", exclude: ["Golden"]),
        .testTarget(
            name: "AMIAgentTests",
            dependencies: ["AMIAgent", "AMIProtocol", "AgentCore", "RemoteFiles", "TamasEvents", "TestSupport",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/AMIAgentTests", exclude: ["bench"]),
        .testTarget(
            name: "RemoteFilesTests",
            dependencies: ["RemoteFiles", "AgentCore", "TamasEvents", "TamasLink", "TestSupport", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/RemoteFilesTests"),
        .testTarget(
            name: "CallerIDTests", dependencies: ["CallerIDProtocol", "TamasEvents", "TestSupport"],
            path: "Tests/CallerIDTests", exclude: ["Golden"]),
        .testTarget(name: "TelsaTests", dependencies: ["TelsaProtocol", "TamasEvents", "TestSupport"], path: "Tests/TelsaTests"),
        .testTarget(
            name: "TelsaAgentTests",
            dependencies: ["TelsaAgent", "TelsaProtocol", "AgentCore", "TamasEvents", "TamasLink", "TestSupport",
                           .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/TelsaAgentTests"),
        .testTarget(
            name: "ConnectorTests",
            dependencies: ["ConnectorKit", "PayamGostarConnector", "WebhookConnector", "ZammadConnector", "TamasEvents", "TestSupport"],
            path: "Tests/ConnectorTests"),
        .testTarget(
            name: "SMDRAgentTests", dependencies: ["SMDRAgent", "SMDRProtocol", "AgentCore", "SerialPort", "TamasEvents", "TestSupport"],
            path: "Tests/SMDRAgentTests"),
        .testTarget(
            name: "CallerIDAgentTests", dependencies: ["CallerIDProtocol", "TamasEvents", "TestSupport"],
            path: "Tests/CallerIDAgentTests"),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "CRMDelivery", "CollectorCore", "ConnectorKit", "WebhookConnector", "PayamGostarConnector", "ZammadConnector",
                "TamasEvents", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/DeliveryTests"),
        .testTarget(name: "SpawnTests", dependencies: ["Spawn"], path: "Tests/SpawnTests"),
        .testTarget(name: "SerialTests", dependencies: ["SerialPort", "TamasEvents", "TestSupport"], path: "Tests/SerialTests"),
        .testTarget(
            name: "TamasLinkTests",
            dependencies: ["TamasLink", "TamasEvents", .product(name: "NIOEmbedded", package: "swift-nio")],
            path: "Tests/TamasLinkTests"
        ),
        .testTarget(
            name: "AgentCoreTests",
            dependencies: ["AgentCore", "JSONLAgent", "JSONLProtocol", "TamasEvents", "TamasLink", "TestSupport"],
            path: "Tests/AgentCoreTests"
        ),
        .testTarget(
            name: "CollectorCoreTests",
            dependencies: [
                "CollectorCore", "TamasEvents", "TamasLink",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Tests/CollectorCoreTests"
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TamasEvents", "TamasLink", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/EndToEndTests"
        ),
    ]
)
