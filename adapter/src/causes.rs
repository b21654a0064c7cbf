//! Saying an error and its causes once each: bollard's and anyhow's chains repeat a
//! cause's words in the wrapper's message, and printing every link would say them twice.

use std::error::Error as StdError;

/// `e` and its sources, outermost first.
pub fn chain<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut all = vec![e];
    let mut next = e.source();
    while let Some(source) = next {
        all.push(source);
        next = source.source();
    }
    all
}

/// The messages of `chain` joined with `: `, each said once: a wrapper whose message
/// already contains its source's is followed by the source's only when it adds words.
pub fn messages(chain: &[&(dyn StdError + 'static)]) -> String {
    let mut said: Vec<String> = Vec::new();
    for e in chain {
        let m = e.to_string();
        if m.is_empty() || said.last().is_some_and(|last| last.contains(&m)) {
            continue;
        }
        // A source that repeats the wrapper's words whole replaces it.
        if said.last().is_some_and(|last| m.contains(last.as_str())) {
            said.pop();
        }
        said.push(m);
    }
    if said.is_empty() {
        return "no reason given".to_string();
    }
    said.join(": ")
}

/// `e` with its causes, each said once ([`messages`]): what the command line prints for a
/// failed subcommand.
pub fn describe(e: &anyhow::Error) -> String {
    let chain: Vec<&(dyn StdError + 'static)> = e.chain().collect();
    messages(&chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Layer(
        &'static str,
        Option<Box<dyn StdError + Send + Sync + 'static>>,
    );

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn messages_say_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = Layer(
            "Error in the client: client error (Connect)",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer("tcp connect error", Some(Box::new(io))))),
            ))),
        );
        assert_eq!(
            messages(&chain(&e)),
            "Error in the client: client error (Connect): tcp connect error: connection refused"
        );
        assert_eq!(
            messages(&chain(&e)[2..]),
            "tcp connect error: connection refused"
        );
        assert_eq!(messages(&chain(&Layer("", None))), "no reason given");
    }

    #[test]
    fn a_wrapper_that_says_its_source_is_said_once() {
        let e = anyhow::Error::new(Layer(
            "container c: cannot connect: the daemon did not answer within 2s",
            Some(Box::new(Layer("the daemon did not answer within 2s", None))),
        ));
        assert_eq!(
            describe(&e),
            "container c: cannot connect: the daemon did not answer within 2s"
        );
        let e = anyhow::Error::new(Layer("no such container: web-1", None)).context("attach");
        assert_eq!(describe(&e), "attach: no such container: web-1");
    }
}
