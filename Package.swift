// swift-tools-version:6.0
//
// libgoal: a C-ABI library, written in Swift, that runs CLIP-family ONNX models.
// Layers (arrows point down only): GoalC -> GoalMatch -> GoalCLIP -> GoalEngine -> CONNXLoader (C++ over
// libonnx), COpenBLAS; GoalCLIP also decodes images (CImageDecode: C over libjpeg and libpng)
// and reads gzip vocabularies (CZlib).
import PackageDescription

// Release builds of libgoal.so export exactly the functions of include/goal.h and refuse
// undefined symbols at link time. Debug builds (used by `swift test`) skip both, because the
// test runner links the same modules into an executable.
let exportsMap = Context.packageDirectory + "/Sources/GoalC/exports.map"

let package = Package(
    name: "goal",
    products: [
        .library(name: "goal", type: .dynamic, targets: ["GoalC"]),
        // The Swift API (CLIPModel and below), for Swift packages that depend on this one by path.
        .library(name: "GoalCLIP", targets: ["GoalCLIP"]),
        .library(name: "GoalMatch", targets: ["GoalMatch"]),
    ],
    targets: [
        .target(
            name: "CONNXLoader",
            cxxSettings: [
                // Debian's libonnx is built with these; its headers change layout without them.
                .define("ONNX_NAMESPACE", to: "onnx"),
                .define("ONNX_ML", to: "1"),
            ],
            linkerSettings: [
                .linkedLibrary("onnx"),
                .linkedLibrary("onnx_proto"),
                .linkedLibrary("protobuf"),
            ]
        ),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "CImageDecode", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CGoalSupport"),
        // Vectorised elementwise float kernels (exp, sigmoid, QuickGELU), with an AVX2 copy.
        .target(name: "CKernels"),
        .target(
            name: "GoalEngine",
            dependencies: ["CONNXLoader", "COpenBLAS", "CKernels"]
        ),
        .target(
            name: "GoalCLIP",
            dependencies: ["GoalEngine", "CImageDecode", "CZlib"]
        ),
        .target(
            name: "GoalMatch",
            dependencies: ["GoalCLIP", "CImageDecode"]
        ),
        .target(
            name: "GoalC",
            dependencies: ["GoalEngine", "GoalCLIP", "GoalMatch", "CGoalSupport"],
            exclude: ["exports.map"],
            linkerSettings: [
                .unsafeFlags([
                    "-Xlinker", "--version-script=\(exportsMap)",
                    "-Xlinker", "-z", "-Xlinker", "defs",
                    "-static-stdlib", "-use-ld=lld",
                ], .when(configuration: .release)),
            ]
        ),
        .testTarget(name: "GoalEngineTests", dependencies: ["GoalEngine"]),
        .testTarget(name: "GoalCLIPTests", dependencies: ["GoalCLIP"]),
        .testTarget(name: "GoalMatchTests", dependencies: ["GoalMatch"]),
    ],
    cxxLanguageStandard: .cxx17
)
