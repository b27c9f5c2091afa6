//! `set_num_threads` after rayon's global pool started on its own (a process of its own:
//! the pool can be built once). The count it started with is accepted, any other refused.

use stratanet_candle::Candle;
use stratanet_frontend::backend::BackendBase;
use stratanet_frontend::Error;

#[test]
fn set_num_threads_after_the_pool_started() {
    // What `num_threads` predicts before anything starts the pool...
    let predicted = Candle::num_threads();
    // ...is the size rayon gives the pool when a parallel kernel starts it.
    rayon::join(|| (), || ());
    assert_eq!(rayon::current_num_threads(), predicted);
    assert_eq!(Candle::num_threads(), predicted);

    // The running count is accepted, and stays.
    Candle::set_num_threads(predicted).unwrap();
    assert_eq!(Candle::num_threads(), predicted);
    // Another count cannot be applied any more: an error naming the function and `n`.
    match Candle::set_num_threads(predicted + 1) {
        Err(Error::InvalidArgument {
            context,
            argument,
            message,
        }) => {
            assert_eq!(context, "set_num_threads");
            assert_eq!(argument, "n");
            assert!(
                message.contains(&format!("already runs {predicted}")),
                "{message}"
            );
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(Candle::num_threads(), predicted);
    assert_eq!(rayon::current_num_threads(), predicted);
}
