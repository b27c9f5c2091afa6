//! Keras' `model.summary()` table.

/// One row of the summary table.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// `name (Class)`.
    pub layer: String,
    /// Output shape as `(None, 64)`.
    pub output_shape: String,
    /// Parameter count.
    pub params: usize,
    /// `Connected to` column (functional models).
    pub connected_to: Option<String>,
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(b: usize) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b:.2} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} MB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// `(None, 8, 8)` for a per-sample shape `[8, 8]`.
pub fn shape_str(per_sample: &[usize]) -> String {
    let mut parts = vec!["None".to_string()];
    parts.extend(per_sample.iter().map(|d| d.to_string()));
    if parts.len() == 1 {
        "(None,)".into()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// The summary's policy line under a mixed precision policy (`""` under `float32`, whose
/// table Keras prints without one).
pub fn policy_line(policy: crate::mixed_precision::Policy) -> String {
    if policy.is_mixed() {
        format!(
            " Dtype policy: {policy} (variables {}, compute {})\n",
            policy.variable_dtype(),
            policy.compute_dtype()
        )
    } else {
        String::new()
    }
}

/// Renders the table with totals, as Keras 3 prints it.
pub fn render_summary(
    model_name: &str,
    rows: &[SummaryRow],
    trainable: usize,
    non_trainable: usize,
    bytes_per_param: usize,
) -> String {
    let with_conn = rows.iter().any(|r| r.connected_to.is_some());
    let mut headers = vec!["Layer (type)", "Output Shape", "Param #"];
    if with_conn {
        headers.push("Connected to");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![r.layer.clone(), r.output_shape.clone(), thousands(r.params)];
            if with_conn {
                c.push(r.connected_to.clone().unwrap_or_else(|| "-".into()));
            }
            c
        })
        .collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    widths[0] = widths[0].max(31);
    widths[1] = widths[1].max(22);
    widths[2] = widths[2].max(13);
    let line = |l: &str, m: &str, r: &str, fill: &str| -> String {
        let segs: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{l}{}{r}\n", segs.join(m))
    };
    let fmt_row = |vals: &[String], sep: &str| -> String {
        let segs: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let pad = widths[i] - v.chars().count();
                if i == 2 {
                    format!(" {}{} ", " ".repeat(pad), v)
                } else {
                    format!(" {}{} ", v, " ".repeat(pad))
                }
            })
            .collect();
        format!("{sep}{}{sep}\n", segs.join(sep))
    };
    let mut out = format!("Model: \"{model_name}\"\n");
    out += &line("┏", "┳", "┓", "━");
    let hv: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    out += &fmt_row(&hv, "┃");
    out += &line("┡", "╇", "┩", "━");
    for (i, row) in cells.iter().enumerate() {
        out += &fmt_row(row, "│");
        if i + 1 < cells.len() {
            out += &line("├", "┼", "┤", "─");
        }
    }
    out += &line("└", "┴", "┘", "─");
    let total = trainable + non_trainable;
    out += &format!(
        " Total params: {} ({})\n",
        thousands(total),
        bytes(total * bytes_per_param)
    );
    out += &format!(
        " Trainable params: {} ({})\n",
        thousands(trainable),
        bytes(trainable * bytes_per_param)
    );
    out += &format!(
        " Non-trainable params: {} ({})\n",
        thousands(non_trainable),
        bytes(non_trainable * bytes_per_param)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(650), "650");
        assert_eq!(thousands(4160), "4,160");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(0), "0.00 B");
        assert_eq!(bytes(4810 * 4), "18.79 KB");
    }
}
