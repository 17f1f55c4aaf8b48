import Glibc

// libjpeg reports a fatal error by calling `error_exit`, which must not return; C programs leave
// it with longjmp, which Swift cannot call (setjmp returns twice). Instead the decode runs on a
// private stack with ucontext: `runOnPrivateStack` switches to it, and a fatal error switches
// straight back (`abandonPrivateStack`), leaving the half-finished frames behind. Code that runs
// on that stack must therefore own nothing that needs releasing: raw pointers and plain values
// only, no arrays, strings or class references, and no inout access to globals or class
// properties (the exclusivity checker would keep a record of an access that never ends).

/// Glibc's Swift module does not include <ucontext.h> (and `getcontext` is marked returns-twice,
/// `makecontext` variadic), so the four functions are looked up once by name; glibc exports them
/// on every Linux target.
private typealias GetContext = @convention(c) (UnsafeMutablePointer<ucontext_t>) -> Int32
private typealias SetContext = @convention(c) (UnsafePointer<ucontext_t>) -> Int32
private typealias SwapContext = @convention(c) (UnsafeMutablePointer<ucontext_t>, UnsafePointer<ucontext_t>) -> Int32
/// makecontext(ucp, fn, argc, ...) called with exactly one 64-bit argument; glibc on x86-64 and
/// AArch64 passes variadic integer arguments like fixed ones and reads each as 64 bits.
private typealias MakeContext = @convention(c) (UnsafeMutablePointer<ucontext_t>,
                                                @convention(c) () -> Void, Int32, UInt) -> Void

private struct ContextFunctions {
    let get: GetContext, make: MakeContext, set: SetContext, swap: SwapContext
}

private let contextFunctions: ContextFunctions? = {
    guard let get = dlsym(nil, "getcontext"), let make = dlsym(nil, "makecontext"),
          let set = dlsym(nil, "setcontext"), let swap = dlsym(nil, "swapcontext") else { return nil }
    return ContextFunctions(get: unsafeBitCast(get, to: GetContext.self),
                            make: unsafeBitCast(make, to: MakeContext.self),
                            set: unsafeBitCast(set, to: SetContext.self),
                            swap: unsafeBitCast(swap, to: SwapContext.self))
}()

/// The two saved contexts of one excursion onto a private stack; must not move while in use.
struct PrivateStackContexts {
    var caller = ucontext_t()
    var worker = ucontext_t()
}

/// Runs `entry(argument)` on a fresh 1 MiB stack and returns when it returns or when code on that
/// stack calls `abandonPrivateStack(contexts)`. Returns false if the stack could not be set up.
func runOnPrivateStack(_ contexts: UnsafeMutablePointer<PrivateStackContexts>,
                       entry: @convention(c) (UInt) -> Void, argument: UInt) -> Bool {
    guard let functions = contextFunctions else { return false }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let size = 1 << 20
    guard let stack = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0),
          stack != MAP_FAILED else { return false }
    defer { munmap(stack, size) }
    // A guard page at the low end turns a stack overflow into a fault rather than corruption.
    mprotect(stack, pageSize, PROT_NONE)

    let worker = contexts.pointer(to: \.worker)!
    let caller = contexts.pointer(to: \.caller)!
    guard functions.get(worker) == 0 else { return false }
    worker.pointee.uc_stack.ss_sp = stack
    worker.pointee.uc_stack.ss_size = size
    worker.pointee.uc_link = caller          // returning from `entry` resumes the caller
    functions.make(worker, unsafeBitCast(entry, to: (@convention(c) () -> Void).self), 1, argument)
    return functions.swap(caller, worker) == 0
}

/// Leaves the private stack for good, resuming `runOnPrivateStack`'s caller.
func abandonPrivateStack(_ contexts: UnsafeMutablePointer<PrivateStackContexts>) -> Never {
    // Only reachable after `runOnPrivateStack` succeeded, so the functions were found.
    _ = contextFunctions?.set(contexts.pointer(to: \.caller)!)
    abort()   // setcontext only returns if the saved context is invalid
}
