//! The `#[cached]` attribute of Cacheness: persistent, typed function caching.
//!
//! Use it through the `cacheness` crate (`use cacheness::cached;`); the expansion calls
//! `cacheness::function`, which holds the runtime and its documentation (`docs/FUNCTIONS.md`).
//!
//! The attribute rewrites `fn f(args) -> R { body }` into a function that derives the call's key
//! (the function's name, its version and its arguments by name), returns the stored result on a
//! hit and otherwise runs `body` once (single flight) and stores its result. Next to `f` it
//! adds `f_cache_info()` (hits, misses, errors in this process) and `f_cache_clear()` (remove
//! every stored result of `f`, found through the catalog).

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, ItemFn, Lit, MetaNameValue, Pat, ReturnType, Token, Type,
    parse_macro_input,
};

/// Cache a function's results on disk, keyed by its arguments.
///
/// Options (all optional): `cache = <expr>` (a `Cache`, a reference or `LazyLock` of one;
/// default: the process-wide cache at `$CACHENESS_DIR` or `./.cacheness`), `name = "..."`
/// (replaces the function's path in its key), `version = <int or "text">` (part of the key),
/// `ttl = <seconds or "30s"/"15m"/"2h"/"7d">`, `ignore = [arg, ...]`, `key = <fn or closure>`
/// (given `&arg` for every argument, returns the `Params` of the arguments),
/// `cache_if = <fn or closure>` (given `&T`, returns whether to store it),
/// `description = "..."`, `lock_across_processes = true`, `missing_paths = "name"`.
#[proc_macro_attribute]
pub fn cached(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(attr) {
        Ok(o) => o,
        Err(e) => return e.to_compile_error().into(),
    };
    let item = parse_macro_input!(item as ItemFn);
    match expand(options, item) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Options {
    cache: Option<Expr>,
    name: Option<String>,
    version: Option<Expr>,
    ttl_secs: Option<u64>,
    ignore: Vec<String>,
    key: Option<Expr>,
    cache_if: Option<Expr>,
    description: Option<String>,
    lock: Option<bool>,
    missing_by_name: bool,
}

fn lit_str(e: &Expr, what: &str) -> syn::Result<String> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        _ => Err(syn::Error::new(
            e.span(),
            format!("{what} must be a string"),
        )),
    }
}

fn lit_bool(e: &Expr, what: &str) -> syn::Result<bool> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        _ => Err(syn::Error::new(
            e.span(),
            format!("{what} must be true or false"),
        )),
    }
}

/// Seconds of a TTL: an integer (seconds) or a string with a unit (s, m, h, d).
fn ttl_secs(e: &Expr) -> syn::Result<u64> {
    let bad = || {
        syn::Error::new(
            e.span(),
            "ttl is seconds (3600) or a number with a unit: \"30s\", \"15m\", \"2h\", \"7d\"",
        )
    };
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().map_err(|_| bad()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let text = s.value();
            let text = text.trim();
            let split = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            let n: u64 = text[..split].parse().map_err(|_| bad())?;
            let unit = match text[split..].trim() {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(bad()),
            };
            n.checked_mul(unit).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

fn parse_options(raw: Punctuated<MetaNameValue, Token![,]>) -> syn::Result<Options> {
    let mut o = Options::default();
    for nv in raw {
        let name = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let v = nv.value;
        match name.as_str() {
            "cache" => o.cache = Some(v),
            "name" => o.name = Some(lit_str(&v, "name")?),
            "version" => o.version = Some(v),
            "ttl" => o.ttl_secs = Some(ttl_secs(&v)?),
            "ignore" => {
                let Expr::Array(items) = &v else {
                    return Err(syn::Error::new(v.span(), "ignore takes a list: [a, b]"));
                };
                for item in &items.elems {
                    match item {
                        Expr::Path(p) if p.path.get_ident().is_some() => {
                            o.ignore.push(p.path.segments[0].ident.to_string());
                        }
                        _ => return Err(syn::Error::new(item.span(), "an argument name")),
                    }
                }
            }
            "key" => o.key = Some(v),
            "cache_if" => o.cache_if = Some(v),
            "description" => o.description = Some(lit_str(&v, "description")?),
            "lock_across_processes" => o.lock = Some(lit_bool(&v, "lock_across_processes")?),
            "missing_paths" => {
                o.missing_by_name = match lit_str(&v, "missing_paths")?.as_str() {
                    "name" => true,
                    "error" => false,
                    _ => {
                        return Err(syn::Error::new(
                            v.span(),
                            "missing_paths is \"error\" (the default) or \"name\"",
                        ));
                    }
                }
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    "unknown #[cached] option; options: cache, name, version, ttl, ignore, \
                     key, cache_if, description, lock_across_processes, missing_paths",
                ));
            }
        }
    }
    Ok(o)
}

/// A parameter name for an argument: leading underscores dropped; it must then be a valid
/// key parameter name (`[a-z][a-z0-9_]*`, at most 64 bytes). Names the catalog reserves are
/// refused by [`reserved_name_check`], against the catalog's own list.
fn param_name(ident: &syn::Ident) -> syn::Result<String> {
    let raw = ident.to_string();
    let name = raw.trim_start_matches('_').to_string();
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(syn::Error::new(
            ident.span(),
            "a #[cached] argument's name is its key parameter's name: use [a-z][a-z0-9_]* \
             (leading underscores are dropped), or leave it out with ignore = [...]",
        ))
    }
}

/// A compile-time check, in the expansion, that `name` is not a catalog column: the list is
/// `cacheness::keys::RESERVED_NAMES` itself, evaluated by a `const fn`, so it has one source.
fn reserved_name_check(name: &str, span: Span) -> Tokens {
    let message = format!(
        "`{name}` is a column of the cache catalog and cannot name a key parameter: rename \
         the argument, or leave it out with ignore = [...]"
    );
    quote_spanned! {span=>
        const _: () = if ::cacheness::keys::is_reserved_name(#name) {
            ::core::panic!(#message)
        };
    }
}

/// Whether the return type is a `Result` (its last path segment is named `Result`): then only
/// `Ok` values are stored.
fn returns_result(ret: &ReturnType) -> bool {
    match ret {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

fn expand(raw: Punctuated<MetaNameValue, Token![,]>, item: ItemFn) -> syn::Result<Tokens> {
    let o = parse_options(raw)?;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = item;
    let fn_name = &sig.ident;
    let is_async = sig.asyncness.is_some();
    let has_receiver = sig.receiver().is_some();

    // Arguments: (binding, parameter name), receiver as `self`.
    let mut args: Vec<(Tokens, String, Span)> = Vec::new();
    let mut name_checks: Vec<Tokens> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for input in &sig.inputs {
        let (binding, name) = match input {
            FnArg::Receiver(_) => (quote!(self), "self".to_string()),
            FnArg::Typed(pt) => match pt.pat.as_ref() {
                Pat::Ident(pi) => {
                    let ident = &pi.ident;
                    let name = if o.ignore.contains(&ident.to_string()) {
                        ident.to_string()
                    } else {
                        let name = param_name(ident)?;
                        name_checks.push(reserved_name_check(&name, ident.span()));
                        name
                    };
                    (quote!(#ident), name)
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "#[cached] arguments need names (a pattern has no key parameter name)",
                    ));
                }
            },
        };
        if !names.insert(name.clone()) {
            return Err(syn::Error::new(
                input.span(),
                format!("two arguments give the key parameter name {name:?}"),
            ));
        }
        args.push((binding, name, input.span()));
    }
    for ignored in &o.ignore {
        if !args.iter().any(|(b, _, _)| b.to_string() == *ignored) {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("ignore names {ignored:?}, which is not an argument"),
            ));
        }
    }

    let rt = quote!(::cacheness::function::__private);
    // Known at compile time except for methods, whose `Self` type names them.
    let function_id = match (&o.name, has_receiver) {
        (Some(n), _) => quote!(::std::borrow::Cow::Borrowed(#n)),
        (None, true) => quote!(::std::borrow::Cow::Owned(::std::format!(
            "{}::{}",
            ::std::any::type_name::<Self>(),
            ::core::stringify!(#fn_name)
        ))),
        (None, false) => quote!(::std::borrow::Cow::Borrowed(::core::concat!(
            ::core::module_path!(),
            "::",
            ::core::stringify!(#fn_name)
        ))),
    };
    let version = match &o.version {
        Some(v) => quote!(::core::option::Option::Some(::cacheness::Value::from(#v))),
        None => quote!(::core::option::Option::None),
    };
    let cache = match &o.cache {
        Some(c) => quote!({
            #[allow(unused_imports)]
            use ::cacheness::function::CacheHandle as _;
            (#c).cache_handle()
        }),
        None => quote!(::cacheness::function::default_cache()),
    };
    let missing = if o.missing_by_name {
        quote!(::cacheness::keys::MissingPath::KeyByName)
    } else {
        quote!(::cacheness::keys::MissingPath::Error)
    };

    let arg_params = match &o.key {
        Some(key_fn) => {
            let refs = args.iter().map(|(b, _, _)| quote!(&#b));
            quote!(.merged((#key_fn)(#(#refs),*)))
        }
        None => {
            let withs = args
                .iter()
                .filter(|(b, _, _)| !o.ignore.contains(&b.to_string()))
                .map(|(b, name, span)| {
                    // Spanned so that an argument that cannot be keyed is reported at itself.
                    quote_spanned!(*span=>
                        .with(#name, (&&#rt::KeyArg(&#b)).key_value(__cx, #name)?))
                });
            quote!(#(#withs)*)
        }
    };
    let key_block = quote! {
        #(#name_checks)*
        let __function: ::std::borrow::Cow<'static, str> = #function_id;
        let __keyed = #rt::key(
            #cache,
            |__cx: &::cacheness::keys::KeyContext<'_>| {
                #[allow(unused_imports)]
                use #rt::{ViaKeyParam as _, ViaSerde as _};
                ::core::result::Result::Ok(
                    ::cacheness::function::function_params(&__function, #version) #arg_params
                )
            },
            #missing,
        );
    };

    let mut put = quote!(::cacheness::PutOptions::default());
    if let Some(d) = &o.description {
        put = quote!(#put.description(#d));
    }
    if let Some(s) = o.ttl_secs {
        put = quote!(#put.ttl(::std::time::Duration::from_secs(#s)));
    }
    let mut opts = quote!(::cacheness::memo::MemoOptions::put(#put));
    if let Some(l) = o.lock {
        opts = quote!(#opts.lock_across_processes(#l));
    }
    let keep = match &o.cache_if {
        Some(pred) => quote!(|__v| (#pred)(__v)),
        None => quote!(|_| true),
    };

    let ret_ty = match &sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    let is_result = returns_result(&sig.output);
    // Spanned so that a result type that cannot be stored is reported at the return type.
    let ret_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    // Sync and async calls differ in how the body becomes a computation and in which runtime
    // function runs it; the rest of the expansion is shared.
    let (compute, tag_of, run_call, await_) = match (is_async, is_result) {
        (true, true) => (
            quote!(move || #rt::typed_future::<#ret_ty, _>(async move #block)),
            quote!(tag_of_async),
            quote!(call_async),
            quote!(.await),
        ),
        (true, false) => (
            quote!(move || async move {
                ::core::result::Result::Ok::<#ret_ty, ::std::convert::Infallible>(
                    #rt::typed_future::<#ret_ty, _>(async move #block).await
                )
            }),
            quote!(tag_of_async),
            quote!(call_async),
            quote!(.await),
        ),
        (false, true) => (
            quote!(move || -> #ret_ty #block),
            quote!(tag_of),
            quote!(call),
            quote!(),
        ),
        (false, false) => (
            quote!(move || ::core::result::Result::Ok::<#ret_ty, ::std::convert::Infallible>(
                (move || -> #ret_ty #block)()
            )),
            quote!(tag_of),
            quote!(call),
            quote!(),
        ),
    };
    let pick = quote_spanned!(ret_span=> (&&#rt::#tag_of(&__compute)).store());
    let run = quote! {
        let __compute = #compute;
        let __store = {
            #[allow(unused_imports)]
            use #rt::{ViaCacheable as _, ViaSerdeStore as _};
            #pick
        };
        #rt::#run_call(&__function, __keyed, &#opts, #keep, __store, __compute) #await_
    };
    // Functions that do not return `Result` run as computations that cannot fail.
    let call = if is_result {
        run
    } else {
        quote!(#rt::never({ #run }))
    };

    let info_fn = format_ident!("{}_cache_info", fn_name);
    let clear_fn = format_ident!("{}_cache_clear", fn_name);
    let doc_info = format!("Hits, misses and errors of `{fn_name}` in this process.");
    let doc_clear =
        format!("Remove every stored result of `{fn_name}` (any version, also from earlier runs).");
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #key_block
            #call
        }

        #[doc = #doc_info]
        #vis fn #info_fn() -> ::cacheness::function::FunctionInfo {
            let __function: ::std::borrow::Cow<'static, str> = #function_id;
            ::cacheness::function::FunctionState::of(&__function).info(&__function)
        }

        #[doc = #doc_clear]
        #vis fn #clear_fn() -> ::cacheness::Result<usize> {
            let __function: ::std::borrow::Cow<'static, str> = #function_id;
            let __cache = #cache?;
            ::cacheness::function::clear_function(&__cache, &__function)
        }
    })
}
