//! The Gateway's listeners and the HTTPRoutes attached to them → sluice listeners and routes.
//! Each `PathPrefix` / `Exact` match of a rule is a route named `<namespace>/<HTTPRoute name>`
//! (the seed's `route=kgateway-system/google`), to the rule's one Backend. Routes are ordered
//! as the Gateway API ranks matches (Exact first, then the longest prefix, then the route's
//! `namespace/name`, then rule and match order), since sluice takes the first that matches.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::assemble::{join, Cx};
use super::objects::{GatewaySpec, HttpRouteSpec, Listener};
use super::Object;

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
const KGATEWAY_GROUP: &str = "gateway.kgateway.dev";

/// A listener of the Gateway, with the routes attached to it.
pub(super) struct ListenerOut {
    pub name: String,
    pub port: u16,
    /// Its index in the Gateway's `spec.listeners`.
    pub index: usize,
    pub routes: Vec<RouteOut>,
}

/// One match of one rule of an HTTPRoute.
#[derive(Clone)]
pub(super) struct RouteOut {
    pub name: String,
    pub exact: bool,
    pub path: String,
    /// The backends (a failover chain when the Backend has priority groups).
    pub chain: Vec<String>,
    /// The HTTPRoute, and where in it the match, its path value and the backend ref are.
    pub label: String,
    pub match_path: String,
    pub value_path: String,
    pub backend_path: String,
    /// Rule and match index, the last tie-breakers.
    order: (usize, usize),
}

impl RouteOut {
    /// The route as the sluice config writes it.
    pub fn tree(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.name.clone()));
        let mut matcher = Map::new();
        let key = if self.exact { "path" } else { "pathPrefix" };
        matcher.insert(key.into(), Value::from(self.path.clone()));
        m.insert("match".into(), Value::Object(matcher));
        match self.chain.as_slice() {
            [one] => m.insert("backend".into(), Value::from(one.clone())),
            many => m.insert("backends".into(), Value::from(many.to_vec())),
        };
        Value::Object(m)
    }
}

/// Which routes a listener takes.
struct Admission {
    all_namespaces: bool,
    http_routes: bool,
}

/// The Gateway's listeners with their routes. `chains`: each Backend (namespace, name) that
/// mapped, to its sluice backend names.
pub(super) fn listeners(
    gateway: &Object,
    spec: &GatewaySpec,
    chains: &HashMap<(String, String), Vec<String>>,
    cx: &mut Cx,
) -> Vec<ListenerOut> {
    let mut out = Vec::new();
    let mut admissions = Vec::new();
    for (k, l) in spec.listeners.iter().enumerate() {
        let path = format!("spec.listeners[{k}]");
        admissions.push(admission(gateway, &path, l, cx));
        if out.iter().any(|o: &ListenerOut| o.name == l.name) {
            cx.error(
                gateway,
                &format!("{path}.name"),
                format!("listener {} is defined twice", l.name),
            );
            continue;
        }
        if out.iter().any(|o: &ListenerOut| o.port == l.port) {
            cx.error(
                gateway,
                &format!("{path}.port"),
                format!("port {} is used by another listener (that takes hostnames, which sluice does not match)", l.port),
            );
            continue;
        }
        out.push(ListenerOut {
            name: l.name.clone(),
            port: l.port,
            index: k,
            routes: Vec::new(),
        });
    }
    for route in cx.of_kind("HTTPRoute").collect::<Vec<_>>() {
        let Some(rspec) = cx.spec::<HttpRouteSpec>(route) else {
            continue;
        };
        cx.refuse(route, "spec", &rspec.other);
        let attached = attach(gateway, spec, &admissions, route, &rspec, cx);
        let outs = rules(route, &rspec, chains, cx);
        for l in out.iter_mut() {
            if attached.contains(&l.index) {
                l.routes.extend(outs.iter().cloned());
            }
        }
    }
    for l in &mut out {
        l.routes.sort_by(|a, b| {
            b.exact
                .cmp(&a.exact)
                .then(b.path.len().cmp(&a.path.len()))
                .then(a.name.cmp(&b.name))
                .then(a.order.cmp(&b.order))
        });
    }
    out
}

/// Checks the listener at `path` and says which routes it admits.
fn admission(gateway: &Object, path: &str, l: &Listener, cx: &mut Cx) -> Admission {
    for key in l.other.keys() {
        let why = match key.as_str() {
            "hostname" => "not supported: sluice routes by path only",
            "tls" => "not supported: sluice listeners are plain HTTP (terminate TLS in front)",
            _ => "not supported by sluice",
        };
        cx.error(gateway, &join(path, key), why);
    }
    if l.protocol != "HTTP" {
        cx.error(
            gateway,
            &format!("{path}.protocol"),
            format!("{} not supported; sluice listeners are HTTP", l.protocol),
        );
    }
    let mut admission = Admission {
        all_namespaces: false,
        http_routes: true,
    };
    let Some(allowed) = &l.allowed_routes else {
        return admission;
    };
    let apath = format!("{path}.allowedRoutes");
    cx.refuse(gateway, &apath, &allowed.other);
    if let Some(ns) = &allowed.namespaces {
        cx.refuse(gateway, &format!("{apath}.namespaces"), &ns.other);
        match ns.from.as_deref() {
            None | Some("Same") => {}
            Some("All") => admission.all_namespaces = true,
            Some(other) => cx.error(
                gateway,
                &format!("{apath}.namespaces.from"),
                format!("{other} not supported; expected All or Same"),
            ),
        }
    }
    if let Some(kinds) = &allowed.kinds {
        admission.http_routes = kinds.iter().any(|k| {
            k.kind == "HTTPRoute" && k.group.as_deref().unwrap_or(GATEWAY_GROUP) == GATEWAY_GROUP
        });
    }
    admission
}

/// The indexes (in `spec.listeners`) of the listeners `route` attaches to; every parentRef
/// that attaches nowhere is an error, as the route would not be served.
fn attach(
    gateway: &Object,
    spec: &GatewaySpec,
    admissions: &[Admission],
    route: &Object,
    rspec: &HttpRouteSpec,
    cx: &mut Cx,
) -> Vec<usize> {
    let mut attached = Vec::new();
    if rspec.parent_refs.is_empty() {
        cx.error(
            route,
            "spec.parentRefs",
            format!("required: the route must name {}", gateway.label()),
        );
    }
    for (k, pr) in rspec.parent_refs.iter().enumerate() {
        let path = format!("spec.parentRefs[{k}]");
        cx.refuse(route, &path, &pr.other);
        let group = pr.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = pr.kind.as_deref().unwrap_or("Gateway");
        if (group, kind) != (GATEWAY_GROUP, "Gateway") {
            cx.error(
                route,
                &path,
                format!("{kind} ({group}) not supported; expected a Gateway"),
            );
            continue;
        }
        let ns = pr.namespace.as_deref().unwrap_or(&route.namespace);
        if (ns, pr.name.as_str()) != (gateway.namespace.as_str(), gateway.name.as_str()) {
            cx.error(
                route,
                &format!("{path}.name"),
                format!("Gateway {ns}/{} not found in the file", pr.name),
            );
            continue;
        }
        let mut candidates: Vec<usize> = (0..spec.listeners.len()).collect();
        if let Some(section) = &pr.section_name {
            candidates.retain(|&i| spec.listeners[i].name == *section);
            if candidates.is_empty() {
                cx.error(
                    route,
                    &format!("{path}.sectionName"),
                    format!("{} has no listener {section}", gateway.label()),
                );
                continue;
            }
        }
        if let Some(port) = pr.port {
            candidates.retain(|&i| spec.listeners[i].port == port);
            if candidates.is_empty() {
                cx.error(
                    route,
                    &format!("{path}.port"),
                    format!("{} has no listener on port {port}", gateway.label()),
                );
                continue;
            }
        }
        let same_namespace = route.namespace == gateway.namespace;
        let admitted: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                admissions
                    .get(i)
                    .is_some_and(|a| a.http_routes && (a.all_namespaces || same_namespace))
            })
            .collect();
        if admitted.is_empty() {
            let names: Vec<&str> = candidates
                .iter()
                .map(|&i| spec.listeners[i].name.as_str())
                .collect();
            cx.error(
                route,
                &path,
                format!(
                    "listener(s) {} of {} do not admit this route (allowedRoutes: HTTPRoute kinds, and namespaces from Same unless All)",
                    names.join(", "),
                    gateway.label()
                ),
            );
        }
        for i in admitted {
            if !attached.contains(&i) {
                attached.push(i);
            }
        }
    }
    attached
}

/// The routes of `route`'s rules.
fn rules(
    route: &Object,
    rspec: &HttpRouteSpec,
    chains: &HashMap<(String, String), Vec<String>>,
    cx: &mut Cx,
) -> Vec<RouteOut> {
    let name = format!("{}/{}", route.namespace, route.name);
    let mut out = Vec::new();
    for (r, rule) in rspec.rules.iter().enumerate() {
        let rpath = format!("spec.rules[{r}]");
        // A rule's name is for policies to target; routing is the same without it.
        cx.refuse_but(route, &rpath, &rule.other, &["name"]);
        let Some((chain, backend_path)) = backend_of(route, &rpath, rule, chains, cx) else {
            continue;
        };
        let default_match = [None];
        let matches: Vec<Option<&super::objects::Match>> = match &rule.matches {
            Some(list) if !list.is_empty() => list.iter().map(Some).collect(),
            _ => default_match.to_vec(),
        };
        for (m, matcher) in matches.into_iter().enumerate() {
            let (match_path, exact, value, value_path) = match matcher {
                None => (rpath.clone(), false, "/".to_string(), rpath.clone()),
                Some(mt) => {
                    let mpath = format!("{rpath}.matches[{m}]");
                    cx.refuse(route, &mpath, &mt.other);
                    match &mt.path {
                        None => (mpath.clone(), false, "/".to_string(), mpath),
                        Some(p) => {
                            let ppath = format!("{mpath}.path");
                            cx.refuse(route, &ppath, &p.other);
                            let exact = match p.kind.as_deref() {
                                None | Some("PathPrefix") => false,
                                Some("Exact") => true,
                                Some(other) => {
                                    cx.error(
                                        route,
                                        &format!("{ppath}.type"),
                                        format!(
                                            "{other} not supported; expected PathPrefix or Exact"
                                        ),
                                    );
                                    continue;
                                }
                            };
                            let value = p.value.clone().unwrap_or_else(|| "/".to_string());
                            (mpath, exact, value, format!("{ppath}.value"))
                        }
                    }
                }
            };
            out.push(RouteOut {
                name: name.clone(),
                exact,
                path: value,
                chain: chain.clone(),
                label: route.label(),
                match_path,
                value_path,
                backend_path: backend_path.clone(),
                order: (r, m),
            });
        }
    }
    out
}

/// The backends of `rule`: its one backendRef, a kgateway Backend in the file.
fn backend_of(
    route: &Object,
    rpath: &str,
    rule: &super::objects::Rule,
    chains: &HashMap<(String, String), Vec<String>>,
    cx: &mut Cx,
) -> Option<(Vec<String>, String)> {
    let refs_path = format!("{rpath}.backendRefs");
    let backend_ref = match rule.backend_refs.as_slice() {
        [one] => one,
        [] => {
            cx.error(route, &refs_path, "required: one Backend per rule");
            return None;
        }
        many => {
            cx.error(
                route,
                &refs_path,
                format!(
                    "{} backendRefs (a weighted split) not supported; one per rule (a Backend's priorityGroups give failover)",
                    many.len()
                ),
            );
            return None;
        }
    };
    let path = format!("{refs_path}[0]");
    cx.refuse(route, &path, &backend_ref.other);
    let group = backend_ref.group.as_deref().unwrap_or("");
    let kind = backend_ref.kind.as_deref().unwrap_or("Service");
    if (group, kind) != (KGATEWAY_GROUP, "Backend") {
        cx.error(
            route,
            &path,
            format!(
                "{kind} not supported; sluice routes to kgateway Backends (group {KGATEWAY_GROUP}, kind Backend)"
            ),
        );
        return None;
    }
    if backend_ref.weight == Some(0) {
        cx.error(
            route,
            &format!("{path}.weight"),
            "0 sends this rule no traffic: not supported",
        );
        return None;
    }
    let ns = backend_ref
        .namespace
        .clone()
        .unwrap_or_else(|| route.namespace.clone());
    match chains.get(&(ns.clone(), backend_ref.name.clone())) {
        Some(chain) if !chain.is_empty() => Some((chain.clone(), path)),
        // The Backend is there but could not be mapped: its own errors say why.
        _ if cx.find("Backend", &ns, &backend_ref.name).is_some() => None,
        _ => {
            cx.error(
                route,
                &format!("{path}.name"),
                format!("Backend {ns}/{} not found in the file", backend_ref.name),
            );
            None
        }
    }
}
